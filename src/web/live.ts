import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { QueueStatusView } from '../operations/status.js';
import type { JobStore } from '../store/store.js';
import { JOBS_LISTED } from './pages/jobs.js';

// Live updates for /jobs and /jobs/<id>: server-sent events carrying the state and progress of the
// jobs a page shows. Progress is not a wake-up (only new work is), so each stream reads the
// table every LIVE_INTERVAL_MS, and sends only when something changed.

const LIVE_INTERVAL_MS = 500;

export function liveJobs(c: Context, store: JobStore, readStatus: () => Promise<QueueStatusView>, shuttingDown: AbortSignal): Response {
  const id = Number(c.req.query('job'));
  return streamSSE(c, async (stream) => {
    let last = '';
    const closed = new Promise<void>((resolve) => {
      stream.onAbort(resolve);
      shuttingDown.addEventListener('abort', () => resolve(), { once: true });
    });
    while (!stream.aborted && !shuttingDown.aborted) {
      const [status, jobs] = await Promise.all([
        readStatus(),
        Number.isInteger(id) && id > 0 ? store.getJob(id).then((job) => (job ? [job] : [])) : store.listJobs({ limit: JOBS_LISTED }),
      ]);
      const update = JSON.stringify({
        counts: status.counts,
        jobs: jobs.map(({ id, state, progress_current, progress_total, attempts }) => ({ id, state, progress_current, progress_total, attempts })),
      });
      if (update !== last) {
        last = update;
        await stream.writeSSE({ event: 'jobs', data: update });
      }
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, LIVE_INTERVAL_MS))]);
    }
  });
}
