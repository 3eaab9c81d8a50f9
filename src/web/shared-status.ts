import { queueStatusView, type QueueStatusView } from '../operations/status.js';
import type { JobStore } from '../store/store.js';

/** How old a status the dashboard may show: its live streams ask twice a second each. */
const STATUS_MAX_AGE_MS = 1_000;

/**
 * The queue's status, read at most once a second however many pages and live streams ask: on
 * 200,000 jobs a read costs about 20 ms of the server's one thread (the counts walk the state
 * indexes), so every viewer reading it for themselves would be what slows the pages down.
 */
export interface SharedStatus {
  (): Promise<QueueStatusView>;
  /** The next read reads anew: after a change made here, the page shown next says so. */
  forget(): void;
}

export function sharedStatus(store: JobStore): SharedStatus {
  let last: { at: number; status: Promise<QueueStatusView> } | undefined;
  const read = () => {
    const now = Date.now();
    if (last === undefined || now - last.at >= STATUS_MAX_AGE_MS) {
      const status = queueStatusView(store, { now });
      last = { at: now, status };
      // A failed read is not kept: the next request reads again.
      status.catch(() => {
        if (last?.status === status) last = undefined;
      });
    }
    return last.status;
  };
  return Object.assign(read, {
    forget: () => {
      last = undefined;
    },
  });
}
