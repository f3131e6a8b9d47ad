/** The AF source's part of the config file: `af`. */
import { cron, dbPaths, type Field } from '../../config/fields.js';
import { sourceSection } from '../../config/sections.js';

export interface AfConfig {
  /** AF database paths, `\\SERVER\Database`. */
  databases: string[];
  schedule: string;
}

export const AF_FIELD: Field = {
  spec: {
    kind: 'object',
    description: 'AF hierarchy (elements, attributes, templates); omit to skip',
    example: "databases: ['\\\\AFSERVER\\Database']",
    fields: {
      databases: { spec: dbPaths('Extracted'), required: true },
      schedule: { spec: cron('When the hierarchy is re-read (cron)'), default: '0 * * * *' },
    },
  },
};

/** The AF source: its section of the config file, and its code, loaded when the service runs it. */
export const afSection = sourceSection<{ af?: AfConfig }>()({
  name: 'af',
  resetsTags: false,
  fields: { af: AF_FIELD },
  load: () => import('./source.js').then((m) => m.afSource),
});
