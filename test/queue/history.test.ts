import BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ImmediateSqliteDriver } from '../../src/store/sqlite/driver.js';
import { openDatabase } from '../../src/store/sqlite/open.js';
import type { Database, HistoryEntry } from '../../src/store/schema.js';
import { retryJob } from '../../src/store/sqlite/admin.js';
import { claimJobs } from '../../src/store/sqlite/claim.js';
import { recoverExpired } from '../../src/store/sqlite/workers.js';
import { LEASE_EXPIRED } from '../../src/queue/recovery.js';
import { enqueueJob, failAttempt } from '../../src/store/sqlite/jobs.js';
import { getJob, releaseJob, saveProgress } from '../../src/store/queries.js';
import type { Claim } from '../../src/store/store.js';
import { tempDb } from '../helpers.js';

// Every failed attempt's error goes into the job's history when it fails, whichever way it
// fails; a job put back in the queue drops the progress of the attempt that ended.

let file: string;
let db: Kysely<Database>;
let driver: ImmediateSqliteDriver;
const NOOP_TASK = { tasks: ['noop'], relaxSynchronous: false };

beforeEach(async () => {
  file = tempDb().db;
  ({ db, driver } = await openDatabase(file));
});

afterEach(async () => {
  await db.destroy();
});

const error = (message: string) => JSON.stringify({ name: 'Error', message, stack: `Error: ${message}\n    at here` });

/** Enqueues a job, claims it as worker `w` and records progress 3/10; returns its claim. */
async function claimedWithProgress(maxAttempts = 3, now = Date.now()): Promise<Claim> {
  const job = await enqueueJob(db, { task: 'noop', payload: {}, maxAttempts }, undefined, now);
  const {
    jobs: [claimed],
  } = await claimJobs(driver, 'w', 1, 1_000, NOOP_TASK, now);
  const claim = { jobId: job.id, workerId: 'w', attempt: claimed!.attempts };
  expect(await saveProgress(db, claim, 3, 10)).toBe(true);
  return claim;
}

async function historyOf(id: number): Promise<HistoryEntry[]> {
  return JSON.parse((await getJob(db, id))!.history ?? '[]') as HistoryEntry[];
}

describe('history', () => {
  it('a failed attempt that will be retried is recorded, and the job drops its progress', async () => {
    const claim = await claimedWithProgress();
    expect(await failAttempt(db, claim, error('boom'), 5_000, 4_000)).toBe(true);
    expect(await getJob(db, claim.jobId)).toMatchObject({ state: 'queued', run_at: 5_000, progress_current: null, progress_total: null });
    expect(await historyOf(claim.jobId)).toEqual([
      { at: 4_000, attempt: 1, state: 'queued', retry_at: 5_000, error: { name: 'Error', message: 'boom', stack: 'Error: boom\n    at here' } },
    ]);
  });

  it('an attempt whose lease expired is recorded when the job is recovered, and the job drops its progress', async () => {
    const claim = await claimedWithProgress(3, 1_000);
    // After the 1 s lease ran out, a claim sees it expired, and the job is put back.
    expect((await claimJobs(driver, 'other', 0, 1_000, NOOP_TASK, 10_000)).expired).toBe(true);
    await recoverExpired(db, 10_000, LEASE_EXPIRED);
    expect(await getJob(db, claim.jobId)).toMatchObject({ state: 'queued', attempts: 1, progress_current: null, locked_by: null });
    expect(await historyOf(claim.jobId)).toEqual([
      {
        at: 10_000,
        attempt: 1,
        state: 'queued',
        error: { name: 'LeaseExpiredError', message: 'worker w stopped renewing its lease during attempt 1 (killed or hung)' },
      },
    ]);
  });

  it('every attempt of a job that fails for good is kept, the last one included, and a retry by hand after them', async () => {
    const first = await claimedWithProgress(2);
    await failAttempt(db, first, error('first'), 0, 1_000);
    const {
      jobs: [again],
    } = await claimJobs(driver, 'w', 1, 60_000, NOOP_TASK, 2_000);
    const second = { jobId: first.jobId, workerId: 'w', attempt: again!.attempts };
    await saveProgress(db, second, 7, 10);
    await failAttempt(db, second, error('second'), null, 3_000);
    // A job that failed for good keeps how far it got.
    expect(await getJob(db, first.jobId)).toMatchObject({ state: 'failed', attempts: 2, progress_current: 7 });
    await retryJob(db, first.jobId, 4_000);

    const history = await historyOf(first.jobId);
    expect(history.map(({ at, attempt, state, error, retried_from }) => [at, attempt, state, error?.message ?? retried_from])).toEqual([
      [1_000, 1, 'queued', 'first'],
      [3_000, 2, 'failed', 'second'],
      [4_000, 2, 'queued', 'failed'],
    ]);
  });

  it('a job given back at shutdown drops its progress; that is no failure, so nothing goes into history', async () => {
    const claim = await claimedWithProgress();
    expect(await releaseJob(db, claim)).toBe(true);
    expect(await getJob(db, claim.jobId)).toMatchObject({
      state: 'queued',
      attempts: 0,
      progress_current: null,
      progress_total: null,
      history: null,
    });
  });
});

describe('upgrading a database whose history was written by an earlier version', () => {
  it('turns each retry entry into the failure and the retry, and records the last failure of failed and waiting jobs', async () => {
    const retried = await enqueueJob(db, { task: 'noop', payload: {}, maxAttempts: 3 });
    const failed = await enqueueJob(db, { task: 'noop', payload: {}, maxAttempts: 3 });
    await db.destroy();

    // Back to schema version 3, with rows as that version wrote them.
    const sqlite = new BetterSqlite3(file);
    const old = [{ state: 'failed', attempts: 3, error: { name: 'Error', message: 'old failure' }, finished_at: 1_000, retried_at: 2_000 }];
    sqlite.prepare('update jobs set history = ? where id = ?').run(JSON.stringify(old), retried.id);
    sqlite
      .prepare(`update jobs set state = 'failed', attempts = 3, error = ?, finished_at = 5_000 where id = ?`)
      .run(error('last failure'), failed.id);
    for (const column of ['boot_id', 'pid_namespace', 'start_ticks', 'tasks']) sqlite.exec(`alter table workers drop column ${column}`);
    sqlite.exec(`drop table job_id_floor; delete from kysely_migration where name >= '0004'; pragma user_version = 3`);
    sqlite.close();

    ({ db, driver } = await openDatabase(file));
    expect(await historyOf(retried.id)).toEqual([
      { at: 1_000, attempt: 3, state: 'failed', error: { name: 'Error', message: 'old failure' } },
      { at: 2_000, attempt: 3, state: 'queued', retried_from: 'failed' },
    ]);
    expect(await historyOf(failed.id)).toEqual([
      {
        at: 5_000,
        attempt: 3,
        state: 'failed',
        retry_at: null,
        error: { name: 'Error', message: 'last failure', stack: 'Error: last failure\n    at here' },
      },
    ]);
  });
});
