import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { countWorkersRunning } from '../store/sqlite/jobs.js';
import { enqueue } from '../queue/task.js';
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
export async function enqueueGeneration(db: Kysely<Database>, options: GenerateOptions): Promise<EnqueuedGeneration> {
  const job = await enqueue(
    db,
    generateUsers,
    { total: options.total, iterations: options.iterations },
    { priority: options.priority, delayMs: options.delayMs },
  );
  return { job: toJobView(job), live_workers: await countWorkersRunning(db, job.task) };
}
