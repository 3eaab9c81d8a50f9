import type { JobRow, JobState } from '../store/schema.js';
import type { JobStore } from '../store/store.js';
import { liveWorkers, tasksRun } from '../queue/live-workers.js';
import { usernamesOfJob } from '../tasks/users.js';
import { toJobView, type JobView } from './job-view.js';
import { cancelJob, findJobs, getJobOrThrow, retryJob, type JobsQuery } from '../queue/steering.js';

// Seeing and steering the queue: `jobs`, `job`, `retry`, `cancel`, `purge`, and the pages that show
// the same. Each takes typed options and returns data, or throws a refusal from refusals.ts.

export interface JobsListing {
  /** Newest first. */
  jobs: JobView[];
  /** Ids of the queued jobs among `jobs` whose task no live worker runs. */
  waiting_for_a_worker_that_knows_their_task: number[];
}

export async function listJobsView(store: JobStore, query: JobsQuery): Promise<JobsListing> {
  const workers = await liveWorkers(store);
  const jobs = await findJobs(store, query);
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
  const job = await getJobOrThrow(store, options.id);
  return { job: toJobView(job), users: await usernamesOfJob(store.db, options.id) };
}

/** Puts a failed or cancelled job back in the queue, attempts reset, its history kept. */
export async function retry(store: JobStore, options: { id: number }): Promise<{ job: JobView }> {
  return { job: toJobView(await retryJob(store, options.id)) };
}

/** Cancels a queued job, or a running one (none of its writes land); says what it was. */
export async function cancel(store: JobStore, options: { id: number }): Promise<{ job: JobView; was: JobState }> {
  const { job, was } = await cancelJob(store, options.id);
  return { job: toJobView(job), was };
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
