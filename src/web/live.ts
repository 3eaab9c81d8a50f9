import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { QueueStatusView } from '../operations/status.js';
import type { JobState } from '../store/schema.js';
import type { JobStore } from '../store/store.js';
import { JOBS_LISTED } from './pages/jobs.js';
import { followedJobs } from '../operations/jobs.js';

// Live updates for /jobs and /jobs/<id>: server-sent events carrying the state and progress of the
// jobs a page shows (the same filter, the same limit). Progress is not a wake-up (only new work
// is), so each stream reads the table every LIVE_INTERVAL_MS, and sends only what changed.

const LIVE_INTERVAL_MS = 500;

export interface LiveFilter {
  /** One job (its page), else the list /jobs shows for `state` and `task`. */
  job?: number | undefined;
  state?: JobState | undefined;
  task?: string | undefined;
}

export function liveJobs(
  c: Context,
  store: JobStore,
  readStatus: () => Promise<QueueStatusView>,
  filter: LiveFilter,
  shuttingDown: AbortSignal,
): Response {
  return streamSSE(
    c,
    async (stream) => {
      let wake: (() => void) | undefined;
      let timer: NodeJS.Timeout | undefined;
      const stop = () => wake?.();
      shuttingDown.addEventListener('abort', stop, { once: true });
      stream.onAbort(stop);
      try {
        let last = '';
        while (!stream.aborted && !shuttingDown.aborted) {
          const [status, jobs] = await Promise.all([readStatus(), followedJobs(store, { ...filter, limit: JOBS_LISTED })]);
          const update = JSON.stringify({
            counts: status.counts,
            jobs: jobs.map(({ id, state, progress_current, progress_total, attempts }) => ({
              id,
              state,
              progress_current,
              progress_total,
              attempts,
            })),
          });
          if (update !== last) {
            last = update;
            await stream.writeSSE({ event: 'jobs', data: update });
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
            timer = setTimeout(resolve, LIVE_INTERVAL_MS);
          });
        }
      } finally {
        clearTimeout(timer);
        shuttingDown.removeEventListener('abort', stop);
      }
    },
    // A store that fails mid-stream ends the stream; the page keeps what it shows (EventSource retries).
    async (error, stream) => {
      await stream.writeSSE({ event: 'failed', data: store.describeError(error).message }).catch(() => {});
    },
  );
}
