import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defineTask } from '../../src/index.js';
import { Worker } from '../../src/queue/worker.js';
import { openStore } from '../../src/store/open.js';
import type { JobStore } from '../../src/store/store.js';
import { ENGINES } from '../engines.js';
import { waitFor } from '../helpers.js';
import { inspect, type Probe } from '../inspect.js';

// Claim-ahead: a worker whose jobs are short takes a few more than its free slots, and gives back
// those it has not started when it stops; a worker whose jobs are long claims for free slots only.

const asObject = (payload: unknown) => payload as { n: number };

describe.each(ENGINES)('claim-ahead on $name', (engine) => {
  let store: JobStore;
  /** Another connection on the database, as another process would read it. */
  let db: Probe;

  beforeEach(async () => {
    const file = await engine.database();
    store = await openStore(file);
    db = await inspect(file);
  });

  afterEach(async () => {
    await store.close();
  });

  const runningJobs = () => db.count("select count(*) from jobs where state = 'running'");

  it('short jobs: a worker of concurrency 1 holds more than one, and gives back those not started when it stops', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const quick = defineTask({
      name: 'quick',
      maxAttempts: 3,
      validate: asObject,
      // Job 40 waits until released: by then the worker knows its jobs are short.
      handler: async ({ n }) => (n === 40 ? held.then(() => n) : n),
    });
    await store.enqueueMany(Array.from({ length: 200 }, (_, i) => ({ task: 'quick', payload: { n: i + 1 }, maxAttempts: 3 })));
    const stopping = new AbortController();
    const worker = new Worker(store, { tasks: [quick], concurrency: 1, register: false, graceMs: 5_000 });
    const run = worker.run(stopping.signal);

    await waitFor(async () => (await db.count("select count(*) from jobs where state = 'succeeded'")) === 39, 'the first 39 jobs');
    const waiting = await waitFor(async () => {
      const running = await runningJobs();
      return running > 1 ? running : undefined;
    }, 'jobs claimed ahead of the running one');
    expect(waiting).toBeLessThanOrEqual(1 + store.claimAhead);

    stopping.abort();
    release();
    const summary = await run;
    expect(summary.failed).toBe(0);
    expect(summary.released).toBe(waiting - 1);
    expect(await db.count("select count(*) from jobs where state = 'running'")).toBe(0);
    expect(await db.count("select count(*) from jobs where state = 'queued' and attempts > 0")).toBe(0);
    expect(await db.count("select count(*) from jobs where state = 'succeeded'")).toBe(40);
    expect(await db.count("select count(*) from jobs where state = 'queued'")).toBe(160);
  });

  it('a slot is free once its handler returns: the next starts while the completion commits, never two handlers at once', async () => {
    let runningNow = 0;
    let most = 0;
    const order: string[] = [];
    const quick = defineTask({
      name: 'quick',
      maxAttempts: 1,
      validate: asObject,
      handler: async ({ n }) => {
        runningNow += 1;
        most = Math.max(most, runningNow);
        order.push(`start ${n}`);
        await Promise.resolve();
        runningNow -= 1;
        return n;
      },
    });
    await store.enqueueMany(Array.from({ length: 50 }, (_, i) => ({ task: 'quick', payload: { n: i }, maxAttempts: 1 })));
    const worker = new Worker(store, { tasks: [quick], concurrency: 1, drain: true, register: false });
    worker.on('succeeded', ({ result }) => order.push(`done ${String(result)}`));
    expect(await worker.run()).toMatchObject({ succeeded: 50, failed: 0 });
    expect(most).toBe(1);
    // For some n, job n + 1 started before job n was recorded succeeded.
    const overlapped = order.some((entry, i) => {
      const n = Number(/^start (\d+)$/.exec(entry)?.[1] ?? 0);
      return n > 0 && !order.slice(0, i).includes(`done ${n - 1}`);
    });
    expect(overlapped).toBe(true);
    expect(await db.count("select count(*) from jobs where state = 'succeeded'")).toBe(50);
  });

  it('a long job among short ones: the jobs claimed ahead behind it go back to the queue, for other workers', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const mixed = defineTask({ name: 'mixed', maxAttempts: 1, validate: asObject, handler: async ({ n }) => (n === 30 ? held.then(() => n) : n) });
    await store.enqueueMany(Array.from({ length: 100 }, (_, i) => ({ task: 'mixed', payload: { n: i + 1 }, maxAttempts: 1 })));
    const stopping = new AbortController();
    const worker = new Worker(store, { tasks: [mixed], concurrency: 1, register: false, pollMs: 20 });
    const run = worker.run(stopping.signal);

    // Job 30 runs past the claim-ahead's bound: those claimed with it go back unstarted, and no more are claimed.
    await waitFor(
      async () => (await runningJobs()) === 1 && (await db.count("select count(*) from jobs where id = 30 and state = 'running'")) === 1,
      'job 30 alone running',
    );
    // All at once, so that a failure shows where every job went.
    const states = await db.all<{ state: string; attempts: number; jobs: number; first: number; last: number }>(
      'select state, attempts, count(*) as jobs, min(id) as first, max(id) as last from jobs group by state, attempts order by first',
    );
    expect(
      states.map((row) => ({ ...row, jobs: Number(row.jobs), attempts: Number(row.attempts), first: Number(row.first), last: Number(row.last) })),
    ).toEqual([
      { state: 'succeeded', attempts: 1, jobs: 29, first: 1, last: 29 },
      { state: 'running', attempts: 1, jobs: 1, first: 30, last: 30 },
      { state: 'queued', attempts: 0, jobs: 70, first: 31, last: 100 },
    ]);

    stopping.abort();
    release();
    expect(await run).toMatchObject({ failed: 0 });
  });

  it('long jobs: a worker claims for its free slots only', async () => {
    const slow = defineTask({ name: 'slow', maxAttempts: 1, validate: asObject, handler: async ({ n }) => sleep(20).then(() => n) });
    await store.enqueueMany(Array.from({ length: 6 }, (_, i) => ({ task: 'slow', payload: { n: i }, maxAttempts: 1 })));
    const seen: Array<Promise<number>> = [];
    const worker = new Worker(store, { tasks: [slow], concurrency: 1, drain: true, register: false });
    worker.on('succeeded', () => seen.push(runningJobs()));
    expect(await worker.run()).toMatchObject({ succeeded: 6 });
    // Read as each job ended: never more than the one running job leased to the worker.
    expect(Math.max(...(await Promise.all(seen)))).toBeLessThanOrEqual(1);
  });
});
