import type { JobRow, JobState } from '../store/schema.js';
import type { JobStore } from '../store/store.js';
import { liveWorkers, tasksRun } from '../queue/live-workers.js';
import { usernamesOfJob } from '../tasks/users.js';
import { toJobView, type JobView } from './job-view.js';
import { NotFound, WrongState } from './refusals.js';

// Seeing and steering the queue: `jobs`, `job`, `retry`, `cancel`, `purge`, and the pages that show
// the same. Each takes typed options and returns data, or throws a refusal from refusals.ts.

export interface ListJobsOptions {
  state?: JobState | undefined;
  task?: string | undefined;
  /** The jobs of this schedule only. */
  schedule?: string | undefined;
  limit: number;
}

export interface JobsListing {
  /** Newest first. */
  jobs: JobView[];
  /** Ids of the queued jobs among `jobs` whose task no live worker runs. */
  waiting_for_a_worker_that_knows_their_task: number[];
}

export async function listJobsView(store: JobStore, options: ListJobsOptions): Promise<JobsListing> {
  const workers = await liveWorkers(store);
  const jobs = await store.listJobs({ state: options.state, task: options.task, schedule: options.schedule, limit: options.limit });
  // With no worker alive every job waits for one; only a live worker's task list says which it will never take.
  const known = workers.length === 0 ? undefined : tasksRun(workers);
  const waiting = known === undefined ? [] : jobs.filter((job) => job.state === 'queued' && !known.has(job.task));
  return { jobs: jobs.map(toJobView), waiting_for_a_worker_that_knows_their_task: waiting.map((job) => job.id) };
}

export interface JobDetail {
  job: JobView;
  /** The usernames the job created, in creation order. */
  users: string[];
}

export async function jobDetail(store: JobStore, options: { id: number }): Promise<JobDetail> {
  const job = await requireJob(store, options.id);
  return { job: toJobView(job), users: await usernamesOfJob(store.db, options.id) };
}

const RETRYABLE: readonly JobState[] = ['failed', 'cancelled'];
const CANCELLABLE: readonly JobState[] = ['queued', 'running'];

/** Puts a failed or cancelled job back in the queue, attempts reset, its history kept. */
export async function retry(store: JobStore, options: { id: number }): Promise<{ job: JobView }> {
  const after = await store.retryJob(options.id);
  if (!after) throw new WrongState(options.id, (await requireJob(store, options.id)).state, RETRYABLE, 'retried');
  return { job: toJobView(after) };
}

export interface Cancellation {
  job: JobView;
  /** The state it was cancelled from: a running job stops only at its worker's next progress point. */
  was: JobState;
}

/** Cancels a queued job, or a running one (none of its writes land). */
export async function cancel(store: JobStore, options: { id: number }): Promise<Cancellation> {
  const before = await requireJob(store, options.id);
  const after = await store.cancelJob(options.id);
  if (!after) throw new WrongState(options.id, before.state, CANCELLABLE, 'cancelled');
  return { job: toJobView(after), was: before.state };
}

/** The states a job ends in: only those can be purged. */
export type FinalState = Exclude<JobState, 'queued' | 'running'>;

export function isFinalState(state: JobState): state is FinalState {
  return state !== 'queued' && state !== 'running';
}

export interface PurgeOptions {
  state: FinalState;
  /** Jobs that ended at least this long before `now` go. */
  olderThanMs: number;
  now?: number;
}

/** Deletes the jobs in a final state that ended long enough ago (their users stay). */
export async function purge(store: JobStore, options: PurgeOptions): Promise<{ deleted: number }> {
  const before = (options.now ?? Date.now()) - options.olderThanMs;
  return { deleted: await store.purgeJobs(options.state, before) };
}

async function requireJob(store: JobStore, id: number): Promise<JobRow> {
  const job = await store.getJob(id);
  if (!job) throw new NotFound(id);
  return job;
}

/** What a live view follows of its jobs: one job, or the newest of a state and task. */
export interface FollowedJobs {
  job?: number | undefined;
  state?: JobState | undefined;
  task?: string | undefined;
  limit: number;
}

/** The jobs a live view follows, as rows: read again at each update. */
export async function followedJobs(store: JobStore, filter: FollowedJobs): Promise<JobRow[]> {
  if (filter.job === undefined) return store.listJobs({ state: filter.state, task: filter.task, limit: filter.limit });
  const job = await store.getJob(filter.job);
  return job ? [job] : [];
}
