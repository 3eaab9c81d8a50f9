import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from '../../src/store/kysely.js';
import { openPgStore } from '../../src/store/postgres/store.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import type { BatchedCompletion, Completion, JobStore } from '../../src/store/store.js';
import { tempDb } from '../helpers.js';
import { tempPgDatabase } from '../postgres.js';
import { claimJobs } from '../../src/queue/claim.js';
import { keepWorkerAlive, liveWorkers, registerWorker } from '../../src/queue/live-workers.js';

// The store contract: the same cases against every engine, through the JobStore interface only.
// (kysely's builder on `store.db` stands in for another process's writes: it is engine-neutral.)

/** What the jobs here are: a task no worker runs (every job is claimed by hand). */
const NOOP = { tasks: ['noop'] };

const ENGINES: Array<{ name: string; open: () => Promise<JobStore> }> = [
  { name: 'sqlite', open: () => openSqliteStore(tempDb().db) },
  // At normal durability an enqueue that finds the connection free skips the group committer.
  { name: 'sqlite (durability normal)', open: () => openSqliteStore(tempDb().db, { durability: 'normal' }) },
  { name: 'postgres', open: async () => openPgStore(await tempPgDatabase()) },
  { name: 'postgres (durability normal)', open: async () => openPgStore(await tempPgDatabase(), { durability: 'normal' }) },
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
    const claimed = await claimJobs(store, workerId, 3, 30_000, NOOP);
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
      const again = await claimJobs(store, 'worker-a', 3, 30_000, NOOP);
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
      await claimJobs(store, 'worker-a', 3, 30_000, NOOP);
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
      await claimJobs(store, 'worker-a', 3, 30_000, NOOP);
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

      const claimed = await claimJobs(store, 'w', 3, 30_000, { tasks: ['a', 'b'] });
      expect(claimed.map((row) => row.id)).toEqual([highA.id, highB.id, lowA.id]);
      expect((await claimJobs(store, 'w', 10, 30_000, { tasks: ['b', 'a'] })).map((row) => row.id)).toEqual([laterB.id]);
      expect(await store.getJob(otherHigh.id)).toMatchObject({ state: 'queued', attempts: 0 });
    });

    it('claims its own tasks past any number of ready jobs of others', async () => {
      await store.enqueueMany(Array.from({ length: 5_000 }, () => ({ task: 'other', payload: {}, maxAttempts: 1, priority: 1 })));
      const own = await store.enqueue({ task: 'noop', payload: {}, maxAttempts: 1 });
      expect((await claimJobs(store, 'w', 5, 30_000, NOOP)).map((row) => row.id)).toEqual([own.id]);
    });

    it('one job by id: only if it is ready and of a task asked for', async () => {
      const other = await store.enqueue({ task: 'other', payload: {}, maxAttempts: 1 });
      const own = await store.enqueue({ task: 'noop', payload: {}, maxAttempts: 1 });
      expect(await claimJobs(store, 'w', 1, 30_000, { ...NOOP, jobId: other.id })).toEqual([]);
      expect((await claimJobs(store, 'w', 1, 30_000, { ...NOOP, jobId: own.id })).map((row) => row.id)).toEqual([own.id]);
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

  describe('leases', () => {
    it('an expired lease puts the job back, its attempt counted and the loss in its history; with no attempts left it fails', async () => {
      const [again, last] = await claimThree('dead');
      await db.updateTable('jobs').set({ max_attempts: 1 }).where('id', '=', last!).execute();
      await db.updateTable('jobs').set({ locked_until: 1 }).where('id', 'in', [again!, last!]).execute();

      const claimed = await claimJobs(store, 'alive', 5, 30_000, NOOP);
      expect(claimed.map((job) => [job.id, job.attempts])).toEqual([[again, 2]]);
      const [retried, failed] = await Promise.all([store.getJob(again!), store.getJob(last!)]);
      expect(retried).toMatchObject({ state: 'running', locked_by: 'alive', attempts: 2 });
      expect(failed).toMatchObject({ state: 'failed', locked_by: null, attempts: 1 });
      expect(JSON.parse(failed!.error!)).toMatchObject({ name: 'LeaseExpiredError' });
      expect(JSON.parse(retried!.history!)).toEqual([
        expect.objectContaining({ attempt: 1, state: 'queued', error: expect.objectContaining({ name: 'LeaseExpiredError' }) }),
      ]);
    });

    it('renewing pushes out the leases the worker still holds, and only those', async () => {
      const [a, b] = await claimThree('w');
      await store.cancelJob(b!);
      const held = await store.renewLeases(
        'w',
        [
          { jobId: a!, workerId: 'w', attempt: 1 },
          { jobId: b!, workerId: 'w', attempt: 1 },
        ],
        120_000,
      );
      expect(held).toEqual([a]);
      expect((await store.getJob(a!))!.locked_until).toBeGreaterThan(Date.now() + 60_000);
    });
  });

  describe('failures and retries', () => {
    it('a failed attempt with attempts left waits for its retry time; without, it fails; both in the history', async () => {
      const [a, b] = await claimThree('w');
      const retryAt = Date.now() + 60_000;
      expect(await store.failAttempt({ jobId: a!, workerId: 'w', attempt: 1 }, '{"name":"Error","message":"once"}', retryAt)).toBe(true);
      expect(await store.failAttempt({ jobId: b!, workerId: 'w', attempt: 1 }, 'plain words', null)).toBe(true);
      const [waiting, failed] = await Promise.all([store.getJob(a!), store.getJob(b!)]);
      expect(waiting).toMatchObject({ state: 'queued', run_at: retryAt, locked_by: null, finished_at: null });
      expect(failed).toMatchObject({ state: 'failed', error: 'plain words', locked_by: null });
      expect(failed!.finished_at).not.toBeNull();
      expect(JSON.parse(waiting!.history!)).toEqual([
        { at: expect.any(Number), attempt: 1, state: 'queued', error: { name: 'Error', message: 'once' }, retry_at: retryAt },
      ]);
      expect(JSON.parse(failed!.history!)).toEqual([
        { at: expect.any(Number), attempt: 1, state: 'failed', error: { name: 'Error', message: 'plain words' }, retry_at: null },
      ]);
      // Not ready before its time.
      expect(await claimJobs(store, 'w', 5, 30_000, NOOP)).toEqual([]);
    });

    it('retry by hand: a failed or cancelled job back to the queue, attempts reset, the retry in its history', async () => {
      const [a, b] = await claimThree('w');
      await store.failAttempt({ jobId: a!, workerId: 'w', attempt: 1 }, '{"name":"Error","message":"no"}', null);
      expect(await store.retryJob(b!)).toBeUndefined();
      const retried = await store.retryJob(a!);
      expect(retried).toMatchObject({ id: a, state: 'queued', attempts: 0, error: null, finished_at: null });
      expect(JSON.parse(retried!.history!).at(-1)).toEqual({ at: expect.any(Number), attempt: 1, state: 'queued', retried_from: 'failed' });
      expect((await claimJobs(store, 'w', 5, 30_000, NOOP)).map((job) => job.id)).toEqual([a]);
    });

    it('release gives a job back without counting its attempt', async () => {
      const [a] = await claimThree('w');
      expect(await store.release({ jobId: a!, workerId: 'w', attempt: 1 })).toBe(true);
      expect(await store.getJob(a!)).toMatchObject({ state: 'queued', attempts: 0, locked_by: null });
    });
  });

  describe('cancel', () => {
    it('cancels a queued or a running job, whose worker can then write nothing about it', async () => {
      const [running] = await claimThree('w');
      const queued = await store.enqueue({ task: 'noop', payload: {}, maxAttempts: 1 });
      expect(await store.cancelJob(queued.id)).toMatchObject({ state: 'cancelled' });
      expect(await store.cancelJob(running!)).toMatchObject({ state: 'cancelled', locked_by: null });
      expect(await store.cancelJob(running!)).toBeUndefined();
      const claim = { jobId: running!, workerId: 'w', attempt: 1 };
      expect(await store.saveProgress(claim, 1, 2)).toBe(false);
      expect(await store.complete(batched({ ...claim, result: 'null' }))).toBe(false);
      expect(await store.getJob(running!)).toMatchObject({ state: 'cancelled', result: null });
    });
  });

  describe('unique keys', () => {
    it('one job per key, ever: a second enqueue with the key enqueues nothing, even once the first ended', async () => {
      const first = await store.enqueueUnique({ task: 'noop', payload: { n: 1 }, maxAttempts: 1, uniqueKey: 'slot-1' });
      expect(first).toMatchObject({ unique_key: 'slot-1', state: 'queued' });
      expect(await store.enqueueUnique({ task: 'noop', payload: { n: 2 }, maxAttempts: 1, uniqueKey: 'slot-1' })).toBeUndefined();
      await store.cancelJob(first!.id);
      expect(await store.enqueueUnique({ task: 'noop', payload: { n: 3 }, maxAttempts: 1, uniqueKey: 'slot-1' })).toBeUndefined();
      expect(await store.enqueueUnique({ task: 'noop', payload: { n: 4 }, maxAttempts: 1, uniqueKey: 'slot-2' })).toMatchObject({
        unique_key: 'slot-2',
      });
    });
  });

  describe('status and workers', () => {
    it('counts, ready jobs per task, the oldest, and the workers alive', async () => {
      const old = Date.now() - 5_000;
      await store.enqueue({ task: 'a', payload: {}, maxAttempts: 1, runAt: old });
      await store.enqueue({ task: 'b', payload: {}, maxAttempts: 1 });
      await store.enqueue({ task: 'b', payload: {}, maxAttempts: 1, delayMs: 60_000 });
      await registerWorker(
        store,
        {
          id: 'w1',
          host: 'h',
          pid: 999_999,
          concurrency: 2,
          tasks: '["a"]',
        },
        30_000,
      );
      const status = await store.queueStatus();
      expect(status.counts).toEqual({ queued: 3, running: 0, succeeded: 0, failed: 0, cancelled: 0 });
      expect(status.ready_by_task.sort((x, y) => x.task.localeCompare(y.task))).toEqual([
        { task: 'a', ready: 1 },
        { task: 'b', ready: 1 },
      ]);
      expect(status.oldest_ready_since).toBe(old);
      expect((await liveWorkers(store)).map((worker) => worker.id)).toEqual(['w1']);
      expect(await store.hasUnfinishedJobs()).toBe(true);
      expect((await store.unfinishedJobsOf('b')).length).toBe(2);
      expect((await store.listJobs({ task: 'b', limit: 10 })).length).toBe(2);

      await keepWorkerAlive(store, 'w1', 60_000, 7);
      expect((await liveWorkers(store))[0]).toMatchObject({ id: 'w1', jobs_done: 7 });
      await store.deleteWorker('w1');
      expect(await liveWorkers(store)).toEqual([]);
    });
  });

  describe('transactions', () => {
    it('a write that throws leaves nothing; one that completes commits its job and its completion together', async () => {
      const [a] = await claimThree('w');
      await expect(
        store.transaction(async (tx) => {
          await tx.enqueue({ task: 'noop', payload: { inside: true }, maxAttempts: 1 });
          throw new Error('no');
        }),
      ).rejects.toThrow('no');
      expect((await store.listJobs({ limit: 10 })).length).toBe(3);
      const result = await store.write(async (tx) => {
        const next = await tx.enqueue({ task: 'noop', payload: { next: true }, maxAttempts: 1 });
        expect(await tx.complete({ jobId: a!, workerId: 'w', attempt: 1, result: '"done"' })).toBe(true);
        return next.id;
      });
      expect(await store.getJob(a!)).toMatchObject({ state: 'succeeded', result: '"done"' });
      expect(await store.getJob(result)).toMatchObject({ state: 'queued', payload: '{"next":true}' });
    });
  });

  describe('a write that holds the database for a task', () => {
    it("refuses a query through the store's own handle from inside it: nothing of it lands outside the transaction", async () => {
      const [a] = await claimThree('w');
      const held = store.write(
        async (tx) => {
          await db
            .insertInto('users')
            .values({
              username: 'outside',
              email: 'o@example.com',
              first_name: 'O',
              last_name: 'U',
              password: 'x',
              is_superuser: 0,
              is_staff: 0,
              is_active: 1,
              last_login: null,
              date_joined: '2026-01-01T00:00:00Z',
              job_id: null,
            })
            .execute();
          return tx.complete({ jobId: a!, workerId: 'w', attempt: 1, result: 'null' });
        },
        { heldMessage: 'query through the transaction' },
      );
      await expect(held).rejects.toThrow('query through the transaction');
      expect(await db.selectFrom('users').select('username').execute()).toEqual([]);
      expect(await store.getJob(a!)).toMatchObject({ state: 'running' });
    });
  });

  describe('job ids', () => {
    it('are never given twice: not after the newest jobs are purged, by any way of enqueueing', async () => {
      const [a, b, c] = await claimThree('w');
      for (const jobId of [a!, b!, c!]) await store.failAttempt({ jobId, workerId: 'w', attempt: 1 }, '"no"', null);
      expect(await store.purgeJobs({ state: 'failed', before: Date.now() + 1, limit: 100 })).toBe(3);
      const one = await store.enqueue({ task: 'noop', payload: {}, maxAttempts: 1 });
      expect(one.id).toBe(c! + 1);
      await store.cancelJob(one.id);
      expect(await store.purgeJobs({ state: 'cancelled', before: Date.now() + 1, limit: 100 })).toBe(1);
      const [many] = await store.enqueueMany([
        { task: 'noop', payload: {}, maxAttempts: 1 },
        { task: 'noop', payload: {}, maxAttempts: 1 },
      ]);
      expect(many).toBe(one.id + 1);
      await store.cancelJob(many! + 1);
      expect(await store.purgeJobs({ state: 'cancelled', before: Date.now() + 1, limit: 100 })).toBe(1);
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

describe('the postgres store, opened on a URL of its own', () => {
  it('keeps its schema and durability when the URL brings options of its own', async () => {
    const url = new URL(await tempPgDatabase());
    url.searchParams.set('options', '-c work_mem=5MB');
    const store = await openPgStore(url.href, { durability: 'normal' });
    try {
      const { rows } = await sql<{ commit: string; path: string; mem: string }>`select current_setting('synchronous_commit') as commit,
        current_setting('search_path') as path, current_setting('work_mem') as mem`.execute(store.db);
      expect(rows[0]).toEqual({ commit: 'off', path: 'usergen', mem: '5MB' });
      expect((await store.enqueue({ task: 'noop', payload: {}, maxAttempts: 1 })).id).toBe(1);
      expect(await store.durations([1_000])).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('refuses a schema named with a word PostgreSQL reserves, creating nothing', async () => {
    await expect(openPgStore(await tempPgDatabase(), { schema: 'order' })).rejects.toThrow('--pg-schema order is a word PostgreSQL reserves');
  });

  it('takes the password as ?password= too, and never shows it', async () => {
    const url = new URL(await tempPgDatabase());
    const password = decodeURIComponent(url.password);
    url.password = '';
    url.searchParams.set('password', password);
    const store = await openPgStore(url.href);
    try {
      expect(store.location).not.toContain(password);
      expect(await store.health()).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
