import type { JobRow } from '../store/schema.js';
import { FINAL_STATES, type JobStore } from '../store/store.js';
import { delay } from './delay.js';
import { countWorkersRunning } from './live-workers.js';
import type { AnyTask } from './task.js';
import { Worker, type Logger, type WorkerSummary } from './worker.js';

export interface AwaitJobOptions {
  signal?: AbortSignal;
  /** Called with the job's row each time it is read. */
  onUpdate?: (job: JobRow) => void;
  pollMs?: number;
  /**
   * Run the job in this process once it is ready: `always`, or only `when-no-worker` is alive.
   * Unset: only wait.
   */
  runHere?: 'always' | 'when-no-worker';
  /** The tasks a run here may run (the job's must be among them). */
  tasks?: ReadonlyArray<AnyTask>;
  /** How long a job run here may take to finish once `signal` aborts; default at once. */
  graceMs?: number;
  leaseMs?: number;
  logger?: Logger;
}

const DEFAULT_AWAIT_POLL_MS = 100;

/**
 * Resolves with the job's row once it has succeeded, failed or been cancelled. With `runHere`, a
 * job that is ready (queued, or its worker died and its lease expired) is claimed and run here,
 * through the same claim and fence as in a worker, so a worker starting at the same moment cannot
 * run it a second time.
 */
export async function awaitJob(store: JobStore, jobId: number, options: AwaitJobOptions = {}): Promise<JobRow> {
  const { signal } = options;
  for (;;) {
    const job = await store.getJob(jobId);
    if (!job) throw new Error(`job ${jobId} does not exist`);
    options.onUpdate?.(job);
    if (FINAL_STATES.includes(job.state)) return job;
    signal?.throwIfAborted();
    const now = Date.now();
    if (options.runHere && isClaimable(job, now) && (options.runHere === 'always' || (await countWorkersRunning(store, job.task, now)) === 0)) {
      const worker = new Worker(store, {
        tasks: options.tasks ?? [],
        concurrency: 1,
        jobId,
        drain: true,
        register: false,
        graceMs: options.graceMs ?? 0,
        leaseMs: options.leaseMs,
        logger: options.logger,
      });
      const { onUpdate } = options;
      const running = worker.run(signal);
      let summary: WorkerSummary;
      // While it runs here, its progress is read as a worker elsewhere would write it.
      if (onUpdate) {
        summary = await reportWhile(
          running,
          async () => {
            const row = await store.getJob(jobId);
            if (row) onUpdate(row);
          },
          options.pollMs ?? DEFAULT_AWAIT_POLL_MS,
        );
      } else {
        summary = await running;
      }
      // Claimable as read, yet its claim took nothing: its task is paused, or a worker took it
      // first. Trying again at once would spin; it is read again after the usual wait.
      const ran = summary.succeeded + summary.failed + summary.retried + summary.released > 0;
      if (ran) continue;
    }
    await delay(options.pollMs ?? DEFAULT_AWAIT_POLL_MS, signal);
  }
}

/** Calls `report` every `intervalMs` until `work` settles, then settles like it. */
async function reportWhile<T>(work: Promise<T>, report: () => Promise<void>, intervalMs: number): Promise<T> {
  let done = false;
  const reporting = (async () => {
    while (!done) {
      await Promise.race([delay(intervalMs), work.catch(() => {})]);
      if (!done) await report().catch(() => {});
    }
  })();
  try {
    return await work;
  } finally {
    done = true;
    await reporting;
  }
}

function isClaimable(job: JobRow, now: number): boolean {
  if (job.state === 'queued') return job.run_at <= now;
  return job.state === 'running' && job.locked_until !== null && job.locked_until < now;
}
