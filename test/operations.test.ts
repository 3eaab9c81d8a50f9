import { describe, expect, it, onTestFinished } from 'vitest';
import { openSqliteStore } from '../src/store/sqlite/store.js';
import type { JobStore } from '../src/store/store.js';
import { enqueueGeneration } from '../src/operations/generate.js';
import { cancel, jobDetail, listJobsView, retry } from '../src/operations/jobs.js';
import { purgeJobs as purge } from '../src/queue/steering.js';
import { JobNotFoundError, JobStateError } from '../src/queue/errors.js';
import { queueStatusView } from '../src/operations/status.js';
import { usersPage } from '../src/operations/users.js';
import { insertUsers } from '../src/tasks/users.js';
import { tempDb } from './helpers.js';

// The operations the commands (and the pages) call, called as a library on a real file:
// typed data back, or a typed refusal that carries what it is about.

async function database(): Promise<JobStore> {
  const store = await openSqliteStore(tempDb().db);
  onTestFinished(() => store.close());
  return store;
}

const GENERATE = { total: 50, iterations: 1000, priority: 0, delayMs: 0 };

describe('operations', () => {
  it('retry of a queued job is refused as JobStateError with the job and its state; nothing changes', async () => {
    const store = await database();
    const { job } = await enqueueGeneration(store, GENERATE);
    expect(job).toMatchObject({ state: 'queued', task: 'generate_users', payload: { total: 50, iterations: 1000 } });

    const refusal = await retry(store, { id: job.id }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(JobStateError);
    expect(refusal).toMatchObject({ jobId: job.id, state: 'queued', allowed: ['failed', 'cancelled'] });
    expect((refusal as JobStateError).message).toBe(`job ${job.id} is queued: only failed or cancelled jobs can be retried`);
    expect((await jobDetail(store, { id: job.id })).job).toEqual(job);
  });

  it('a missing id is refused as JobNotFoundError by job, retry and cancel', async () => {
    const store = await database();
    for (const operation of [jobDetail, retry, cancel]) {
      const refusal = await operation(store, { id: 42 }).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(JobNotFoundError);
      expect(refusal).toMatchObject({ jobId: 42, message: 'no job 42' });
    }
  });

  it('cancel says what the job was; a second cancel is JobStateError; retry brings it back; purge counts', async () => {
    const store = await database();
    const { job } = await enqueueGeneration(store, GENERATE);

    const cancelled = await cancel(store, { id: job.id });
    expect(cancelled.was).toBe('queued');
    expect(cancelled.job.state).toBe('cancelled');
    expect(typeof cancelled.job.finished_at).toBe('string');

    const again = await cancel(store, { id: job.id }).catch((error: unknown) => error);
    expect(again).toBeInstanceOf(JobStateError);
    expect(again).toMatchObject({ jobId: job.id, state: 'cancelled', allowed: ['queued', 'running'] });

    const retried = await retry(store, { id: job.id });
    expect(retried.job).toMatchObject({ id: job.id, state: 'queued', attempts: 0 });
    expect(retried.job.history).toEqual([expect.objectContaining({ state: 'queued', retried_from: 'cancelled' })]);

    await cancel(store, { id: job.id });
    expect(await purge(store, { state: 'succeeded', olderThanMs: 0 })).toEqual({ deleted: 0 });
    expect(await purge(store, { state: 'cancelled', olderThanMs: 0, now: Date.now() + 1 })).toEqual({ deleted: 1 });
    await expect(jobDetail(store, { id: job.id })).rejects.toBeInstanceOf(JobNotFoundError);
  });

  it('listings, status and the users page are plain data with ISO times', async () => {
    const store = await database();
    const { job, live_workers } = await enqueueGeneration(store, { ...GENERATE, delayMs: 60_000 });
    expect(live_workers).toBe(0);
    expect(Date.parse(job.run_at) - Date.parse(job.created_at)).toBe(60_000);

    expect(await listJobsView(store, { limit: 10 })).toEqual({ jobs: [job], waiting_for_a_worker_that_knows_their_task: [] });
    expect(await listJobsView(store, { state: 'failed', limit: 10 })).toEqual({ jobs: [], waiting_for_a_worker_that_knows_their_task: [] });

    const status = await queueStatusView(store);
    expect(status).toMatchObject({
      counts: { queued: 1, running: 0, succeeded: 0, failed: 0, cancelled: 0 },
      workers: [],
      oldest_ready_wait_ms: null,
      jobs_ended_last_minute: 0,
      last_backup_at: null,
    });
    expect(new Date(status.checked_at).toISOString()).toBe(status.checked_at);

    expect(await usersPage(store, { limit: 5, offset: 0 })).toEqual({ users: [], total: 0, limit: 5, offset: 0, order: 'oldest' });
  });

  it('the users page reads far pages from the other end: every page holds the same users either way', async () => {
    const store = await database();
    const rows = Array.from({ length: 160 }, (_, i) => ({
      username: `user_${String(i).padStart(10, '0')}`,
      email: `user_${i}@example.com`,
      first_name: 'A',
      last_name: 'B',
      password: 'pbkdf2_sha256$1000$salt$hash',
      is_superuser: 0,
      is_staff: 0,
      is_active: 1,
      last_login: null,
      date_joined: new Date(0).toISOString(),
      job_id: null,
    }));
    await store.db.transaction().execute((trx) => insertUsers(trx, rows));
    const ids = async (offset: number, order: 'oldest' | 'newest') =>
      (await usersPage(store, { limit: 50, offset, order })).users.map((user) => user.id);
    const range = (from: number, to: number) => Array.from({ length: Math.abs(to - from) + 1 }, (_, i) => (from <= to ? from + i : from - i));
    expect(await ids(0, 'oldest')).toEqual(range(1, 50));
    expect(await ids(100, 'oldest')).toEqual(range(101, 150));
    expect(await ids(150, 'oldest')).toEqual(range(151, 160));
    expect(await ids(0, 'newest')).toEqual(range(160, 111));
    expect(await ids(150, 'newest')).toEqual(range(10, 1));
    expect(await ids(200, 'oldest')).toEqual([]);
  });
});
