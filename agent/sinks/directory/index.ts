/** The directory sink's kind: a local folder of Parquet files (sink.ts). */
import type { SinkKind } from '../types.js';
import type { DirectorySinkConfig } from './config.js';

export const directorySink: SinkKind<DirectorySinkConfig> = {
  async open(config) {
    const { DirectorySink } = await import('./sink.js');
    return new DirectorySink(config.sink.path, { byteStreamSplit: config.sink.parquet.byte_stream_split });
  },
};
