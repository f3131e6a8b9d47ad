/**
 * The three kinds of AF object the source snapshots: per kind its progress space, table, key column
 * and PI Web API collection, and what the store knows of each kind.
 */
import type { Store } from '../../store/store.js';
import { AF_ATTRIBUTES, AF_ELEMENTS, AF_TEMPLATES, type Known } from './progress.js';

export const KINDS = {
  template: { space: AF_TEMPLATES, table: 'pi_af_templates', key: 'template_webid', path: 'elementtemplates' },
  element: { space: AF_ELEMENTS, table: 'pi_af_elements', key: 'element_webid', path: 'elements' },
  attribute: { space: AF_ATTRIBUTES, table: 'pi_af_attributes', key: 'attribute_webid', path: 'attributes' },
} as const;
export type Kind = keyof typeof KINDS;

/** Kinds in the order deletions go: attributes before their elements, elements before templates. */
export const DELETION_ORDER = ['attribute', 'element', 'template'] as const;

/** Per kind, progress key → what was last sent. */
export type KnownObjects = Record<Kind, Map<string, Known>>;

export function knownObjects(store: Store): KnownObjects {
  return {
    template: KINDS.template.space.entries(store),
    element: KINDS.element.space.entries(store),
    attribute: KINDS.attribute.space.entries(store),
  };
}

export function kindOfKey(key: string): Kind {
  return key.startsWith(KINDS.template.space.prefix) ? 'template' : key.startsWith(KINDS.element.space.prefix) ? 'element' : 'attribute';
}
