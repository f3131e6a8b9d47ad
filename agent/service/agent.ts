/**
 * One agent: the store, the PI client and the sink opened from config. The sources run against it
 * (it is their SourceContext); `run`, `run --once`, `flush` and `backfill` open one.
 */
import type { AgentConfig } from '../config/types.js';
import type { Logger } from '../observe/log.js';
import { openSink, type Sink } from '../sinks/index.js';
import { openPi, PiPointDirectory } from '../sources/pi.js';
import type { SourceContext } from '../sources/source.js';
import { Store } from '../store/store.js';

export interface Agent extends SourceContext {
  sink: Sink;
  close(): Promise<void>;
}

export function openStore(config: AgentConfig): Store {
  return Store.open({
    stateDir: config.state_dir,
    site: config.site,
    maxBufferBytes: config.buffer.max_bytes,
    parquet: { byteStreamSplit: config.sink.parquet.byte_stream_split },
  });
}

export async function openAgent(config: AgentConfig, logger: Logger): Promise<Agent> {
  const store = openStore(config);
  try {
    const client = await openPi(config, undefined, store.webIdAliases());
    const directory = new PiPointDirectory(client);
    const sink = await openSink(config, logger);
    return {
      config,
      store,
      client,
      directory,
      sink,
      logger,
      async close() {
        await Promise.allSettled([client.close(), sink.close()]);
        store.close();
      },
    };
  } catch (err) {
    store.close();
    throw err;
  }
}
