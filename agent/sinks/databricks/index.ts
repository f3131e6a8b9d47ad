/** The Databricks sink's kind (sink.ts); the SQL driver loads only when this sink is configured. */
import type { SinkKind } from '../types.js';
import type { DatabricksSinkConfig } from './config.js';

export const databricksSink: SinkKind<DatabricksSinkConfig> = {
  async open(config, logger) {
    const { DatabricksSink } = await import('./sink.js');
    return DatabricksSink.fromConfig(config, logger);
  },
};
