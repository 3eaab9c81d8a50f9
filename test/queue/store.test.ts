import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/sqlite/open.js';
import type { Database } from '../../src/store/schema.js';
import { cancelJob } from '../../src/store/sqlite/admin.js';
import { groupCommitterOf } from '../../src/store/sqlite/group-commit.js';
import { claimJobs, completeJobs, enqueueJob, failAttempt, getJob, releaseJob, renewLeases, saveProgress } from '../../src/store/sqlite/jobs.js';
import { tempDb } from '../helpers.js';

// The store's hot-path statements on a real file: what a batch of completions may and may not write.

let db: Kysely<Database>;

beforeEach(async () => {
  db = await openDatabase(tempDb().db);
});

afterEach(async () => {
  await db.destroy();
});

async function claimThree(workerId: string): Promise<number[]> {
  for (let i = 0; i < 3; i++) await enqueueJob(db, { task: 'noop', payload: { i }, maxAttempts: 3 });
  const claimed = await claimJobs(db, workerId, 3, 30_000);
  return claimed.map((job) => job.id);
}

describe('completing a batch of jobs in one statement', () => {
  it('marks only the jobs this worker still holds, each with its own result', async () => {
    const [held, cancelled, takenOver] = await claimThree('worker-a');
    await cancelJob(db, cancelled!);
    await db.updateTable('jobs').set({ locked_by: 'worker-b' }).where('id', '=', takenOver!).execute();

    const done = await completeJobs(db, [
      { jobId: held!, workerId: 'worker-a', attempt: 1, result: '{"n":1}' },
      { jobId: cancelled!, workerId: 'worker-a', attempt: 1, result: '{"n":2}' },
      { jobId: takenOver!, workerId: 'worker-a', attempt: 1, result: '{"n":3}' },
    ]);

    expect([...done]).toEqual([held]);
    const [a, b, c] = await Promise.all([held, cancelled, takenOver].map((id) => getJob(db, id!)));
    expect(a).toMatchObject({ state: 'succeeded', result: '{"n":1}', locked_by: null, locked_until: null });
    expect(a!.finished_at).not.toBeNull();
    expect(b).toMatchObject({ state: 'cancelled', result: null });
    expect(c).toMatchObject({ state: 'running', result: null, locked_by: 'worker-b' });
  });

  it('does not complete a newer attempt of a job the same worker claimed again after its lease lapsed', async () => {
    const [id] = await claimThree('worker-a');
    await db.updateTable('jobs').set({ locked_until: 0 }).where('id', '=', id!).execute();
    const again = await claimJobs(db, 'worker-a', 3, 30_000);
    expect(again.map((job) => [job.id, job.attempts])).toEqual([[id, 2]]);

    const stale = await completeJobs(db, [{ jobId: id!, workerId: 'worker-a', attempt: 1, result: '"stale"' }]);
    expect(stale.size).toBe(0);
    expect(await getJob(db, id!)).toMatchObject({ state: 'running', attempts: 2, result: null });
    const current = await completeJobs(db, [{ jobId: id!, workerId: 'worker-a', attempt: 2, result: '"current"' }]);
    expect([...current]).toEqual([id]);
    expect(await getJob(db, id!)).toMatchObject({ state: 'succeeded', result: '"current"' });
  });

  it('a stale run of the same worker can neither fail, release nor report progress on the newer attempt', async () => {
    const [id] = await claimThree('worker-a');
    await db.updateTable('jobs').set({ locked_until: 0 }).where('id', '=', id!).execute();
    await claimJobs(db, 'worker-a', 3, 30_000);
    const stale = { jobId: id!, workerId: 'worker-a', attempt: 1 };

    expect(await saveProgress(db, stale, 1, 2)).toBe(false);
    expect(await failAttempt(db, stale, '{"name":"Error","message":"stale"}', null)).toBe(false);
    expect(await releaseJob(db, stale)).toBe(false);
    const row = await getJob(db, id!);
    expect(row).toMatchObject({ state: 'running', attempts: 2, locked_by: 'worker-a', progress_total: null });
    expect(row!.error).not.toContain('stale');
    expect(await saveProgress(db, { ...stale, attempt: 2 }, 1, 2)).toBe(true);
  });

  it('a stale run of the same worker keeps no lease alive: only the newer attempt is renewed', async () => {
    const [id] = await claimThree('worker-a');
    await db.updateTable('jobs').set({ locked_until: 0 }).where('id', '=', id!).execute();
    await claimJobs(db, 'worker-a', 3, 30_000);
    const { locked_until: before } = (await getJob(db, id!))!;

    expect(await renewLeases(db, 'worker-a', [{ jobId: id!, attempt: 1 }], 60_000)).toEqual([]);
    expect((await getJob(db, id!))!.locked_until).toBe(before);
    expect(await renewLeases(db, 'worker-a', [{ jobId: id!, attempt: 2 }], 60_000)).toEqual([id]);
    expect((await getJob(db, id!))!.locked_until).toBeGreaterThan(before!);
  });

  it('completes jobs of two workers sharing a handle in one statement', async () => {
    const [a, b] = await claimThree('worker-a');
    await db.updateTable('jobs').set({ locked_by: 'worker-b' }).where('id', '=', b!).execute();
    const done = await completeJobs(db, [
      { jobId: a!, workerId: 'worker-a', attempt: 1, result: 'null' },
      { jobId: b!, workerId: 'worker-b', attempt: 1, result: 'null' },
    ]);
    expect([...done].sort()).toEqual([a, b].sort());
  });

  it('through the group committer: a lost job resolves false, an aborted one rejects unwritten', async () => {
    const [held, cancelled, aborted] = await claimThree('worker-a');
    await cancelJob(db, cancelled!);
    const committer = groupCommitterOf(db);
    const shutdown = new Error('shutting down');
    const outcomes = await Promise.allSettled([
      committer.complete({ jobId: held!, workerId: 'worker-a', attempt: 1, result: 'null', abortedReason: () => undefined }),
      committer.complete({ jobId: cancelled!, workerId: 'worker-a', attempt: 1, result: 'null', abortedReason: () => undefined }),
      committer.complete({ jobId: aborted!, workerId: 'worker-a', attempt: 1, result: 'null', abortedReason: () => shutdown }),
    ]);

    expect(outcomes).toEqual([
      { status: 'fulfilled', value: true },
      { status: 'fulfilled', value: false },
      { status: 'rejected', reason: shutdown },
    ]);
    expect((await getJob(db, held!))!.state).toBe('succeeded');
    expect((await getJob(db, cancelled!))!.state).toBe('cancelled');
    expect((await getJob(db, aborted!))!.state).toBe('running');
  });
});

describe('enqueue on a handle another query holds', () => {
  it('waits for the transaction under way and is not part of it', async () => {
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const transaction = db.transaction().execute(async (trx) => {
      await enqueueJob(trx, { task: 'noop', payload: { rolledBack: true }, maxAttempts: 1 });
      entered();
      await held;
      throw new Error('rolled back');
    });
    await inside;
    const enqueued = enqueueJob(db, { task: 'noop', payload: { kept: true }, maxAttempts: 1 });
    release();

    await expect(transaction).rejects.toThrow('rolled back');
    const job = await enqueued;
    expect(await getJob(db, job.id)).toMatchObject({ state: 'queued', payload: '{"kept":true}' });
    const all = await db.selectFrom('jobs').select('payload').execute();
    expect(all).toEqual([{ payload: '{"kept":true}' }]);
  });
});
