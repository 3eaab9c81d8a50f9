import type { Client, ClientConfig } from 'pg';

// Wake-ups: an enqueue notifies the schema's channel in its transaction (delivered at commit), and
// an idle worker LISTENs on a connection of its own. A lost connection is made again with backoff;
// meanwhile, and wherever LISTEN cannot work (a pooler in transaction mode hands each statement
// another server connection), the worker's poll still finds the jobs.

const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5_000;

/** The channel of the schema's jobs: one per schema, so that two usergen schemas of one database do not wake each other. */
export function channelOf(schema: string): string {
  return `usergen_${schema}`;
}

/** Calls `onWork` on every notification of `channel`; returns a function that stops listening. */
export function listenForWork(
  ClientClass: new (config: ClientConfig) => Client,
  config: ClientConfig,
  channel: string,
  onWork: () => void,
): () => void {
  let client: Client | undefined;
  let stopped = false;
  let retryMs = RETRY_FIRST_MS;
  let timer: NodeJS.Timeout | undefined;

  const again = () => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, retryMs);
    timer.unref();
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
  };

  const connect = async () => {
    const next = new ClientClass(config);
    client = next;
    next.on('error', () => {
      void next.end().catch(() => {});
      if (client === next) again();
    });
    next.on('end', () => {
      if (client === next) again();
    });
    next.on('notification', onWork);
    try {
      await next.connect();
      await next.query(`listen ${channel}`);
      if (stopped) {
        await next.end();
        return;
      }
      retryMs = RETRY_FIRST_MS;
      // Jobs enqueued while it was not listening wake nobody: look once now.
      onWork();
    } catch {
      await next.end().catch(() => {});
      if (client === next) again();
    }
  };

  void connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    void client?.end().catch(() => {});
    client = undefined;
  };
}
