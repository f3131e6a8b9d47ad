/** The tags source's part of the config file: `tags` (the selectors) and `tags_refresh`. */
import { cron, nonEmpty, str, type Field } from '../../config/fields.js';
import { sourceSection } from '../../config/sections.js';

/** Points of a data server matching a name filter and/or point source. */
export interface DataServerSelector {
  dataserver: string;
  name_filter?: string;
  point_source?: string;
}
/** One point by path, `\\SERVER\TAG`. */
export interface PathSelector {
  path: string;
}
/** Points referenced by the attributes of an AF element (and its children when recursive). */
export interface AfElementSelector {
  af_element: string;
  template?: string;
  recursive: boolean;
}
/** One way of selecting PI points to extract; tell them apart with `'dataserver' in s` etc. */
export type TagSelector = DataServerSelector | PathSelector | AfElementSelector;

export const TAGS_FIELD: Field = {
  spec: {
    kind: 'list',
    description: 'Which PI points to extract',
    items: {
      kind: 'oneOfKeys',
      description: 'A tag selector: by data server search, by path, or by AF element attributes',
      variants: [
        {
          kind: 'object',
          description: 'Points of a data server matching a name filter and/or point source',
          fields: {
            dataserver: { spec: str('Data server name', { pattern: nonEmpty, example: 'PISRV01' }), required: true },
            name_filter: { spec: str('Name filter, e.g. * or FIC*', { pattern: nonEmpty }) },
            point_source: { spec: str('Point source, e.g. OPC', { pattern: nonEmpty }) },
          },
        },
        {
          kind: 'object',
          description: 'One point by path',
          fields: { path: { spec: { kind: 'pipath', description: 'Point path', example: '\\\\PISRV01\\TAG1' }, required: true } },
        },
        {
          kind: 'object',
          description: 'Points referenced by the attributes of an AF element',
          fields: {
            af_element: { spec: { kind: 'pipath', description: 'AF element path', example: '\\\\AFSERVER\\Database\\Area\\Unit' }, required: true },
            template: { spec: str('Only elements of this template', { pattern: nonEmpty }) },
            recursive: { spec: { kind: 'boolean', description: 'Include child elements' }, default: false },
          },
        },
      ],
    },
  },
};

export const TAGS_REFRESH_FIELD: Field = { spec: cron('When tag discovery runs again (cron)'), default: '0 * * * *' };

/** The tags source (discovery): its section of the config file, and its code, loaded when the service runs it. */
export const tagsSection = sourceSection<{ tags: TagSelector[]; tags_refresh: string }>()({
  name: 'tags',
  resetsTags: false,
  fields: { tags: TAGS_FIELD, tags_refresh: TAGS_REFRESH_FIELD },
  load: () => import('./source.js').then((m) => m.tagsSource),
});
