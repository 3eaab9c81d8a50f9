import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { BatchedCompletion, Completion, JobStore } from '../../src/store/store.js';
import { tempDb } from '../helpers.js';

// The store contract: the same cases against every engine, through the JobStore interface only.
// (kysely's builder on `store.db` stands in for another process's writes: it is engine-neutral.)

/** What the jobs here are: a task no worker runs (every job is claimed by hand). */
const NOOP = { tasks: ['noop'] };

const ENGINES: Array<{ name: string; open: () => Promise<JobStore> }> = [
  { name: 'sqlite', open: () => openSqliteStore(tempDb().db) },
  // At normal durability an enqueue that finds the connection free skips the group committer.
  { name: 'sqlite (durability normal)', open: () => openSqliteStore(tempDb().db, { durability: 'normal' }) },
];

describe.each(ENGINES)('the $name store', ({ open }) => {
  let store: JobStore;
  let db: JobStore['db'];

  beforeEach(async () => {
    store = await open();
    db = store.db;
  });

  afterEach(async () => {
    await store.close();
  });

  async function claimThree(workerId: string): Promise<number[]> {
    for (let i = 0; i < 3; i++) await store.enqueue({ task: 'noop', payload: { i }, maxAttempts: 3 });
    const claimed = await store.claim(workerId, 3, 30_000, NOOP);
    return claimed.map((job) => job.id);
  }

  /** Completions in one batch: started in one turn of the event loop, written by one statement. */
  async function completeBatch(completions: Completion[]): Promise<Set<number>> {
    const held = await Promise.all(completions.map((completion) => store.complete(batched(completion))));
    return new Set(completions.filter((_, i) => held[i]).map((completion) => completion.jobId));
  }

  function batched(completion: Completion, aborted?: Error): BatchedCompletion {
    return { ...completion, abortedReason: () => aborted };
  }

  describe('completing a batch of jobs in one statement', () => {
    it('marks only the jobs this worker still holds, each with its own result', async () => {
      const [held, cancelled, takenOver] = await claimThree('worker-a');
      await store.cancelJob(cancelled!);
      await db.updateTable('jobs').set({ locked_by: 'worker-b' }).where('id', '=', takenOver!).execute();

      const done = await completeBatch([
        { jobId: held!, workerId: 'worker-a', attempt: 1, result: '{"n":1}' },
        { jobId: cancelled!, workerId: 'worker-a', attempt: 1, result: '{"n":2}' },
        { jobId: takenOver!, workerId: 'worker-a', attempt: 1, result: '{"n":3}' },
      ]);

      expect([...done]).toEqual([held]);
      const [a, b, c] = await Promise.all([held, cancelled, takenOver].map((id) => store.getJob(id!)));
      expect(a).toMatchObject({ state: 'succeeded', result: '{"n":1}', locked_by: null, locked_until: null });
      expect(a!.finished_at).not.toBeNull();
      expect(b).toMatchObject({ state: 'cancelled', result: null });
      expect(c).toMatchObject({ state: 'running', result: null, locked_by: 'worker-b' });
    });

    it('does not complete a newer attempt of a job the same worker claimed again after its lease lapsed', async () => {
      const [id] = await claimThree('worker-a');
      await db.updateTable('jobs').set({ locked_until: 0 }).where('id', '=', id!).execute();
      const again = await store.claim('worker-a', 3, 30_000, NOOP);
      expect(again.map((job) => [job.id, job.attempts])).toEqual([[id, 2]]);

      const stale = await completeBatch([{ jobId: id!, workerId: 'worker-a', attempt: 1, result: '"stale"' }]);
      expect(stale.size).toBe(0);
      expect(await store.getJob(id!)).toMatchObject({ state: 'running', attempts: 2, result: null });
      const current = await completeBatch([{ jobId: id!, workerId: 'worker-a', attempt: 2, result: '"current"' }]);
      expect([...current]).toEqual([id]);
      expect(await store.getJob(id!)).toMatchObject({ state: 'succeeded', result: '"current"' });
    });

    it('a stale run of the same worker can neither fail, release nor report progress on the newer attempt', async () => {
      const [id] = await claimThree('worker-a');
      await db.updateTable('jobs').set({ locked_until: 0 }).where('id', '=', id!).execute();
      await store.claim('worker-a', 3, 30_000, NOOP);
      const stale = { jobId: id!, workerId: 'worker-a', attempt: 1 };

      expect(await store.saveProgress(stale, 1, 2)).toBe(false);
      expect(await store.failAttempt(stale, '{"name":"Error","message":"stale"}', null)).toBe(false);
      expect(await store.release(stale)).toBe(false);
      const row = await store.getJob(id!);
      expect(row).toMatchObject({ state: 'running', attempts: 2, locked_by: 'worker-a', progress_total: null });
      expect(row!.error).not.toContain('stale');
      expect(await store.saveProgress({ ...stale, attempt: 2 }, 1, 2)).toBe(true);
    });

    it('a stale run of the same worker keeps no lease alive: only the newer attempt is renewed', async () => {
      const [id] = await claimThree('worker-a');
      await db.updateTable('jobs').set({ locked_until: 0 }).where('id', '=', id!).execute();
      await store.claim('worker-a', 3, 30_000, NOOP);
      const { locked_until: before } = (await store.getJob(id!))!;

      expect(await store.renewLeases('worker-a', [{ jobId: id!, workerId: 'worker-a', attempt: 1 }], 60_000)).toEqual([]);
      expect((await store.getJob(id!))!.locked_until).toBe(before);
      expect(await store.renewLeases('worker-a', [{ jobId: id!, workerId: 'worker-a', attempt: 2 }], 60_000)).toEqual([id]);
      expect((await store.getJob(id!))!.locked_until).toBeGreaterThan(before!);
    });

    it('completes jobs of two workers sharing a handle in one statement', async () => {
      const [a, b] = await claimThree('worker-a');
      await db.updateTable('jobs').set({ locked_by: 'worker-b' }).where('id', '=', b!).execute();
      const done = await completeBatch([
        { jobId: a!, workerId: 'worker-a', attempt: 1, result: 'null' },
        { jobId: b!, workerId: 'worker-b', attempt: 1, result: 'null' },
      ]);
      expect([...done].sort()).toEqual([a, b].sort());
    });

    it('a lost job resolves false, an aborted one rejects unwritten', async () => {
      const [held, cancelled, aborted] = await claimThree('worker-a');
      await store.cancelJob(cancelled!);
      const shutdown = new Error('shutting down');
      const outcomes = await Promise.allSettled([
        store.complete(batched({ jobId: held!, workerId: 'worker-a', attempt: 1, result: 'null' })),
        store.complete(batched({ jobId: cancelled!, workerId: 'worker-a', attempt: 1, result: 'null' })),
        store.complete(batched({ jobId: aborted!, workerId: 'worker-a', attempt: 1, result: 'null' }, shutdown)),
      ]);

      expect(outcomes).toEqual([
        { status: 'fulfilled', value: true },
        { status: 'fulfilled', value: false },
        { status: 'rejected', reason: shutdown },
      ]);
      expect((await store.getJob(held!))!.state).toBe('succeeded');
      expect((await store.getJob(cancelled!))!.state).toBe('cancelled');
      expect((await store.getJob(aborted!))!.state).toBe('running');
    });
  });

  describe('claiming', () => {
    it('takes only the tasks asked for, the best first across them: priority, then run_at, then id', async () => {
      const at = Date.now() - 60_000;
      const job = (task: string, priority: number, runAt: number) => store.enqueue({ task, payload: {}, maxAttempts: 1, priority, runAt });
      const lowA = await job('a', 0, at);
      const otherHigh = await job('c', 9, at);
      const highB = await job('b', 5, at + 2);
      const highA = await job('a', 5, at + 1);
      const laterB = await job('b', 0, at + 3);
      await job('a', 9, Date.now() + 60_000);

      const claimed = await store.claim('w', 3, 30_000, { tasks: ['a', 'b'] });
      expect(claimed.map((row) => row.id)).toEqual([highA.id, highB.id, lowA.id]);
      expect((await store.claim('w', 10, 30_000, { tasks: ['b', 'a'] })).map((row) => row.id)).toEqual([laterB.id]);
      expect(await store.getJob(otherHigh.id)).toMatchObject({ state: 'queued', attempts: 0 });
    });

    it('claims its own tasks past any number of ready jobs of others', async () => {
      await store.enqueueMany(Array.from({ length: 5_000 }, () => ({ task: 'other', payload: {}, maxAttempts: 1, priority: 1 })));
      const own = await store.enqueue({ task: 'noop', payload: {}, maxAttempts: 1 });
      expect((await store.claim('w', 5, 30_000, NOOP)).map((row) => row.id)).toEqual([own.id]);
    });

    it('one job by id: only if it is ready and of a task asked for', async () => {
      const other = await store.enqueue({ task: 'other', payload: {}, maxAttempts: 1 });
      const own = await store.enqueue({ task: 'noop', payload: {}, maxAttempts: 1 });
      expect(await store.claim('w', 1, 30_000, { ...NOOP, jobId: other.id })).toEqual([]);
      expect((await store.claim('w', 1, 30_000, { ...NOOP, jobId: own.id })).map((row) => row.id)).toEqual([own.id]);
    });
  });

  describe('what the dashboard and /metrics read', () => {
    it('totals per task and state, and how long the ended jobs ran, as a histogram', async () => {
      const [a, b] = await claimThree('w');
      await store.failAttempt({ jobId: b!, workerId: 'w', attempt: 1 }, '{"name":"Error","message":"no"}', null);
      expect(await store.complete({ jobId: a!, workerId: 'w', attempt: 1, result: 'null', abortedReason: () => undefined })).toBe(true);
      const totals = await store.jobTotals();
      expect(totals.sort((x, y) => x.state.localeCompare(y.state))).toEqual([
        { task: 'noop', state: 'failed', jobs: 1, attempts: 1 },
        { task: 'noop', state: 'running', jobs: 1, attempts: 1 },
        { task: 'noop', state: 'succeeded', jobs: 1, attempts: 1 },
      ]);
      const [histogram] = await store.durations([0, 60_000, 3_600_000]);
      expect(histogram).toMatchObject({ task: 'noop', count: 2 });
      expect(histogram!.at_most[1]).toBe(2);
      expect(histogram!.at_most[2]).toBe(2);
      expect(histogram!.at_most[0]).toBeLessThanOrEqual(2);
      expect(histogram!.sum_ms).toBeGreaterThanOrEqual(0);
      expect(await store.queueStatus()).toMatchObject({ counts: { queued: 0, running: 1, succeeded: 1, failed: 1, cancelled: 0 } });
    });

    it('health: answers while the database does', async () => {
      expect(await store.health()).toBeUndefined();
    });
  });

  describe('job ids', () => {
    it('are never given twice: not after the newest jobs are purged, by any way of enqueueing', async () => {
      const [a, b, c] = await claimThree('w');
      for (const jobId of [a!, b!, c!]) await store.failAttempt({ jobId, workerId: 'w', attempt: 1 }, '"no"', null);
      expect(await store.purgeJobs('failed', Date.now() + 1)).toBe(3);
      const one = await store.enqueue({ task: 'noop', payload: {}, maxAttempts: 1 });
      expect(one.id).toBe(c! + 1);
      await store.cancelJob(one.id);
      expect(await store.purgeJobs('cancelled', Date.now() + 1)).toBe(1);
      const [many] = await store.enqueueMany([{ task: 'noop', payload: {}, maxAttempts: 1 }, { task: 'noop', payload: {}, maxAttempts: 1 }]);
      expect(many).toBe(one.id + 1);
      await store.cancelJob(many! + 1);
      expect(await store.purgeJobs('cancelled', Date.now() + 1)).toBe(1);
      const unique = await store.enqueueUnique({ task: 'noop', payload: {}, maxAttempts: 1, uniqueKey: 'k' });
      expect(unique!.id).toBe(many! + 2);
    });
  });

  describe('enqueue while a transaction is under way', () => {
    it('is not part of it', async () => {
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const transaction = store.transaction(async (tx) => {
        await tx.enqueue({ task: 'noop', payload: { rolledBack: true }, maxAttempts: 1 });
        entered();
        await held;
        throw new Error('rolled back');
      });
      await inside;
      const enqueued = store.enqueue({ task: 'noop', payload: { kept: true }, maxAttempts: 1 });
      release();

      await expect(transaction).rejects.toThrow('rolled back');
      const job = await enqueued;
      expect(await store.getJob(job.id)).toMatchObject({ state: 'queued', payload: '{"kept":true}' });
      const all = await db.selectFrom('jobs').select('payload').execute();
      expect(all).toEqual([{ payload: '{"kept":true}' }]);
    });
  });
});
