import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defineTask, type JobEvent } from '../../src/index.js';
import { Worker } from '../../src/queue/worker.js';
import { openStore } from '../../src/store/open.js';
import type { Database } from '../../src/store/schema.js';
import type { JobStore } from '../../src/store/store.js';
import { ENGINES } from '../engines.js';
import { waitFor } from '../helpers.js';
import { keptLog } from '../operation-helpers.js';

const asObject = (payload: unknown) => payload as Record<string, never>;

/** Runs `worker` until drained, with the events it told. */
async function runWithEvents(worker: Worker) {
  const events: Array<[string, JobEvent]> = [];
  for (const name of ['succeeded', 'failed', 'retried'] as const) worker.on(name, (event) => events.push([name, event]));
  const summary = await worker.run();
  return { summary, events };
}

describe.each(ENGINES)("a job's life on $name", (engine) => {
  let location: string;
  let store: JobStore;
  let db: Kysely<Database>;

  beforeEach(async () => {
    location = await engine.database();
    store = await openStore(location);
    db = store.db;
  });

  afterEach(async () => {
    await store.close();
  });

  describe('a timeout while the completion commits', () => {
    it('does not decide: the completion committed, so the row, summary, log line and event all say succeeded', async () => {
      const timeoutMs = 100;
      const slowWrite = defineTask({
        name: 'slow_write',
        timeoutMs,
        maxAttempts: 1,
        validate: asObject,
        async handler(_payload, context) {
          return context.complete(async (trx) => {
            await trx.selectFrom('jobs').select('id').execute();
            // The write outlasts the timeout: the timer fires while the transaction is open.
            await sleep(2 * timeoutMs);
            return 'written';
          });
        },
      });
      const job = await store.enqueue({ task: slowWrite.name, payload: {}, maxAttempts: 1 });
      const { lines, logger } = keptLog();

      const { summary, events } = await runWithEvents(
        new Worker(store, { tasks: [slowWrite], concurrency: 1, drain: true, register: false, logger }),
      );

      expect(await store.getJob(job.id)).toMatchObject({ state: 'succeeded', attempts: 1, result: '"written"', error: null });
      expect(summary).toEqual({ succeeded: 1, failed: 0, retried: 0, released: 0 });
      expect(events).toEqual([['succeeded', { id: job.id, task: 'slow_write', attempt: 1, result: 'written' }]]);
      expect(lines.filter((line) => !line.startsWith('info:'))).toEqual([]);
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^info: Task slow_write\\[${job.id}\\] succeeded in [\\d.]+s: 'written'$`)));
    });

    it('still fails an attempt whose timeout fired before its write began: nothing of it commits', async () => {
      // A store of one connection, so that holding it delays the write: SQLite's has one; a
      // PostgreSQL pool, one here.
      await store.close();
      store = await openStore(location, { connections: 1 });
      db = store.db;
      const timeoutMs = 100;
      let wrote = false;
      const lateComplete = defineTask({
        name: 'late_complete',
        timeoutMs,
        maxAttempts: 1,
        validate: asObject,
        async handler(_payload, context) {
          // Holds the connection until the timeout has fired, so the completion's write waits for it.
          const timedOut = new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve(), { once: true }));
          const holding = db.transaction().execute(() => timedOut);
          const completion = context.complete(async () => {
            wrote = true;
          });
          await holding;
          return completion;
        },
      });
      const job = await store.enqueue({ task: lateComplete.name, payload: {}, maxAttempts: 1 });

      const { summary, events } = await runWithEvents(new Worker(store, { tasks: [lateComplete], concurrency: 1, drain: true, register: false }));

      expect(wrote).toBe(false);
      expect(await store.getJob(job.id)).toMatchObject({ state: 'failed', attempts: 1, result: null });
      expect(summary).toMatchObject({ succeeded: 0, failed: 1 });
      expect(events.map(([name, event]) => [name, event.error?.name])).toEqual([['failed', 'JobTimeoutError']]);
    });
  });

  describe('context.db inside complete()', () => {
    const HELD =
      'inside complete(), query through its trx: a query through context.db would wait for the connection this transaction holds (SQLite) or run outside it (PostgreSQL)';

    it("fails the attempt at once with a clear error; the callback's trx works, and the worker goes on", async () => {
      const seenThroughTrx: number[] = [];
      const wrongHandle = defineTask({
        name: 'wrong_handle',
        maxAttempts: 2,
        backoff: { baseMs: 0, maxMs: 0 },
        validate: asObject,
        async handler(_payload, context) {
          return context.complete(async (trx) => {
            seenThroughTrx.push((await trx.selectFrom('jobs').select('id').execute()).length);
            return context.db.selectFrom('jobs').select('id').execute();
          });
        },
      });
      const fine = defineTask({
        name: 'fine',
        maxAttempts: 1,
        validate: asObject,
        async handler(_payload, context) {
          return (await context.db.selectFrom('jobs').select('id').execute()).length;
        },
      });
      const wrong = await store.enqueue({ task: wrongHandle.name, payload: {}, maxAttempts: 2 });
      const other = await store.enqueue({ task: fine.name, payload: {}, maxAttempts: 1 });

      const { summary, events } = await runWithEvents(
        new Worker(store, { tasks: [wrongHandle, fine], concurrency: 1, drain: true, register: false }),
      );

      expect(seenThroughTrx).toEqual([2, 2]);
      const row = await store.getJob(wrong.id);
      expect(row).toMatchObject({ state: 'failed', attempts: 2 });
      expect(JSON.parse(row!.error!)).toMatchObject({ message: HELD });
      expect(events.filter(([, event]) => event.id === wrong.id).map(([name, event]) => [name, event.error?.message])).toEqual([
        ['retried', HELD],
        ['failed', HELD],
      ]);
      expect(await store.getJob(other.id)).toMatchObject({ state: 'succeeded', result: '2' });
      expect(summary).toEqual({ succeeded: 1, failed: 1, retried: 1, released: 0 });
    });

    it('a follow-up job enqueued there commits with the completion', async () => {
      const follow = defineTask({ name: 'follow', validate: asObject, handler: async () => null });
      const enqueuer = defineTask({
        name: 'enqueuer',
        maxAttempts: 1,
        validate: asObject,
        async handler(_payload, context) {
          return context.complete(async (_trx, jobs) => {
            const refused = await context.db
              .selectFrom('jobs')
              .select('id')
              .execute()
              .then(
                () => 'read',
                (error: Error) => error.message,
              );
            await jobs.enqueue(follow, {});
            return refused;
          });
        },
      });
      const job = await store.enqueue({ task: enqueuer.name, payload: {}, maxAttempts: 1 });

      await new Worker(store, { tasks: [enqueuer], concurrency: 1, drain: true, register: false }).run();

      expect(await store.getJob(job.id)).toMatchObject({ state: 'succeeded', result: JSON.stringify(HELD) });
      expect(await db.selectFrom('jobs').select('task').where('task', '=', 'follow').execute()).toHaveLength(1);
    });

    it("other jobs' queries, outside the callback, wait for the completion and then run", async () => {
      let inside = false;
      let release: () => void = () => {};
      const released = new Promise<void>((resolve) => (release = resolve));
      const holder = defineTask({
        name: 'holder',
        maxAttempts: 1,
        validate: asObject,
        async handler(_payload, context) {
          return context.complete(async () => {
            inside = true;
            await released;
            return 'held';
          });
        },
      });
      const reader = defineTask({
        name: 'reader',
        maxAttempts: 1,
        validate: asObject,
        async handler(_payload, context) {
          await waitFor(() => inside, 'the other job to be inside its completion', 10_000);
          const reading = context.db.selectFrom('jobs').select('id').execute();
          // The read is queued behind the completion's transaction, not refused: let that commit.
          release();
          return (await reading).length;
        },
      });
      const first = await store.enqueue({ task: holder.name, payload: {}, maxAttempts: 1 });
      const second = await store.enqueue({ task: reader.name, payload: {}, maxAttempts: 1 });

      const summary = await new Worker(store, { tasks: [holder, reader], concurrency: 2, drain: true, register: false }).run();

      expect(summary).toMatchObject({ succeeded: 2, failed: 0 });
      expect(await store.getJob(first.id)).toMatchObject({ state: 'succeeded', result: '"held"' });
      expect(await store.getJob(second.id)).toMatchObject({ state: 'succeeded', result: '2' });
    });
  });

  describe('a handler after its completion', () => {
    it('still running once its completion committed: its timeout stops it, and the job is reported succeeded', async () => {
      const lingering = defineTask({
        name: 'lingering',
        timeoutMs: 100,
        maxAttempts: 1,
        validate: asObject,
        async handler(_payload, context) {
          await context.complete(async () => 'done');
          // Never settles: only the run's abort can end this attempt.
          return new Promise<string>(() => {});
        },
      });
      const job = await store.enqueue({ task: lingering.name, payload: {}, maxAttempts: 1 });

      const { summary, events } = await runWithEvents(new Worker(store, { tasks: [lingering], concurrency: 1, drain: true, register: false }));

      expect(await store.getJob(job.id)).toMatchObject({ state: 'succeeded', result: '"done"' });
      expect(summary).toEqual({ succeeded: 1, failed: 0, retried: 0, released: 0 });
      expect(events).toEqual([['succeeded', { id: job.id, task: 'lingering', attempt: 1, result: 'done' }]]);
    });

    it('complete() a second time is refused; the first completion stands and is reported', async () => {
      const twice = defineTask({
        name: 'twice',
        maxAttempts: 1,
        validate: asObject,
        async handler(_payload, context) {
          await context.complete(async () => 'first');
          return context.complete(async () => 'second').catch((error: Error) => error.message);
        },
      });
      const job = await store.enqueue({ task: twice.name, payload: {}, maxAttempts: 1 });

      const { summary, events } = await runWithEvents(new Worker(store, { tasks: [twice], concurrency: 1, drain: true, register: false }));

      expect(await store.getJob(job.id)).toMatchObject({ state: 'succeeded', result: '"first"' });
      expect(summary).toEqual({ succeeded: 1, failed: 0, retried: 0, released: 0 });
      expect(events).toEqual([['succeeded', { id: job.id, task: 'twice', attempt: 1, result: 'first' }]]);
    });

    it('a shutdown whose grace ran out during a completion that then failed still stops the handler', async () => {
      const stopping = new AbortController();
      const failingWrite = defineTask({
        name: 'failing_write',
        maxAttempts: 3,
        validate: asObject,
        async handler(_payload, context) {
          await context
            .complete(async () => {
              stopping.abort(new Error('stop'));
              // Past the grace period: the shutdown comes while this write holds the completion.
              await sleep(300);
              throw new Error('write failed');
            })
            .catch(() => undefined);
          return new Promise<string>(() => {});
        },
      });
      const job = await store.enqueue({ task: failingWrite.name, payload: {}, maxAttempts: 3 });

      const summary = await new Worker(store, { tasks: [failingWrite], concurrency: 1, graceMs: 50, register: false }).run(stopping.signal);

      expect(summary).toEqual({ succeeded: 0, failed: 0, retried: 0, released: 1 });
      expect(await store.getJob(job.id)).toMatchObject({ state: 'queued', attempts: 0 });
    });
  });
});
