import { countWorkersRunning } from '../queue/live-workers.js';
import { jobSpec } from '../queue/task.js';
import type { JobStore } from '../store/store.js';
import { generateUsers } from '../tasks/generate-users.js';
import { toJobView, type JobView } from './job-view.js';

export interface GenerateOptions {
  /** How many users: the task's validate refuses a total outside MIN_TOTAL..MAX_TOTAL before anything is written. */
  total: number;
  /** PBKDF2 iterations per password hash. */
  iterations: number;
  priority: number;
  delayMs: number;
}

export interface EnqueuedGeneration {
  /** Committed to the file when this returns. */
  job: JobView;
  /** Live workers that run generate_users, just after the commit: with none, the job waits until one starts. */
  live_workers: number;
}

/** Commits one generate_users job. */
export async function enqueueGeneration(store: JobStore, options: GenerateOptions): Promise<EnqueuedGeneration> {
  const payload = { total: options.total, iterations: options.iterations };
  const job = await store.enqueue(jobSpec(generateUsers, payload, { priority: options.priority, delayMs: options.delayMs }));
  return { job: toJobView(job), live_workers: await countWorkersRunning(store, job.task) };
}
