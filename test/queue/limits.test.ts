import { afterEach, describe, expect, it } from 'vitest';
import { defineTask, openQueue, UsageError, type Queue } from '../../src/index.js';
import type { AnyTask } from '../../src/queue/task.js';
import { queueOnEachTest } from '../engine-queue.js';
import { ENGINES } from '../engines.js';
import { waitFor } from '../helpers.js';

// Limits across every worker on the database: the claims of three queues (each its own store and
// connections, as three processes would have) never run more of a task at once than its
// concurrency, start more in a window than its rate, or run more of a group at once than its
// group concurrency; the groups are served round-robin. Set in the database, limits replace the
// definition's on every worker.

/** Running jobs, counted as the handlers see them, and the most seen at once (in all, and per key). */
class Overlap {
  running = 0;
  most = 0;
  readonly byKey = new Map<string, number>();
  mostByKey = 0;
  enter(key = ''): void {
    this.running++;
    this.most = Math.max(this.most, this.running);
    const n = (this.byKey.get(key) ?? 0) + 1;
    this.byKey.set(key, n);
    this.mostByKey = Math.max(this.mostByKey, n);
  }
  leave(key = ''): void {
    this.running--;
    this.byKey.set(key, this.byKey.get(key)! - 1);
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe.each(ENGINES)('limits across workers on $name', (engine) => {
  const current = queueOnEachTest(engine);
  const others: Queue[] = [];
  afterEach(async () => {
    await Promise.all(others.splice(0).map((queue) => queue.close()));
  });

  /** Three queues on the database (the test's and two more), each running a worker of `tasks` at concurrency 8 until every job has ended. */
  async function drainWithThree(tasks: AnyTask[]): Promise<void> {
    for (let n = 0; n < 2; n++) others.push(await openQueue({ db: current.location }));
    const queues = [current.queue, ...others];
    const told: string[] = [];
    const logger = { debug: () => {}, info: () => {}, warn: (line: string) => told.push(line), error: (line: string) => told.push(line) };
    // Running workers stopped once every job has ended, not draining ones: a draining worker on
    // PostgreSQL was seen to stop while jobs held back by a group limit were left (open, see the issue).
    const stop = new AbortController();
    const running = queues.map((queue) => queue.worker({ tasks, concurrency: 8, pollMs: 20, logger }).run(stop.signal));
    try {
      await waitFor(
        async () => (await current.db.count("select count(*) from jobs where state in ('queued', 'running')")) === 0,
        'every job to end',
        60_000,
        20,
      );
    } finally {
      stop.abort();
      await Promise.all(running);
    }
    expect(told).toEqual([]);
  }

  it('a concurrency of 2: three workers at concurrency 8 never run more than 2 at once, and run all', async () => {
    const overlap = new Overlap();
    const report = defineTask({
      name: 'report',
      validate: (payload) => payload as { n: number },
      limits: { concurrency: 2 },
      handler: async () => {
        overlap.enter();
        for (let i = 0; i < 20; i++) await tick();
        overlap.leave();
        return 'done';
      },
    });
    const jobs = await current.queue.enqueueMany(
      report,
      Array.from({ length: 40 }, (_, n) => ({ n })),
    );
    await drainWithThree([report]);
    expect(overlap.most).toBe(2);
    expect(await current.db.count("select count(*) from jobs where state = 'succeeded'")).toBe(jobs.length);
  });

  it('a rate of 3 per 300 ms: no window of 300 ms holds more than 3 starts', async () => {
    const mail = defineTask({
      name: 'mail',
      validate: (payload) => payload as { n: number },
      limits: { rate: '3/300ms' },
      handler: async () => 'sent',
    });
    await current.queue.enqueueMany(
      mail,
      Array.from({ length: 12 }, (_, n) => ({ n })),
    );
    await drainWithThree([mail]);
    const starts = (await current.db.all<{ started_at: number }>("select started_at from jobs where state = 'succeeded' order by started_at")).map(
      (row) => Number(row.started_at),
    );
    expect(starts).toHaveLength(12);
    for (let i = 3; i < starts.length; i++) expect(starts[i]! - starts[i - 3]!, `starts ${i - 3} and ${i}`).toBeGreaterThanOrEqual(300);
  });

  it('a group concurrency of 1: one running per key; a key with 1,000 jobs does not hold back 19 keys with 10', async () => {
    const overlap = new Overlap();
    const order: string[] = [];
    const sync = defineTask({
      name: 'sync',
      validate: (payload) => payload as { customer: string },
      limits: { group: { key: (payload) => payload.customer, concurrency: 1 } },
      handler: async ({ customer }) => {
        overlap.enter(customer);
        await tick();
        overlap.leave(customer);
        order.push(customer);
        return 'ok';
      },
    });
    await current.queue.enqueueMany(
      sync,
      Array.from({ length: 1_000 }, () => ({ customer: 'big' })),
    );
    const small = Array.from({ length: 19 }, (_, k) => `small-${k}`);
    await current.queue.enqueueMany(
      sync,
      small.flatMap((customer) => Array.from({ length: 10 }, () => ({ customer }))),
    );
    expect(await current.db.all('select distinct group_key from jobs order by group_key limit 2')).toEqual([
      { group_key: 'big' },
      { group_key: 'small-0' },
    ]);
    await drainWithThree([sync]);
    expect(overlap.mostByKey).toBe(1);
    expect(order).toHaveLength(1_190);
    const bigs = order.flatMap((customer, at) => (customer === 'big' ? [at] : []));
    const lastSmall = Math.max(...small.map((customer) => order.lastIndexOf(customer)));
    expect(lastSmall, 'the last small job ran after the big key had run 200').toBeLessThan(bigs[199]!);
  });

  it('limits set in the database replace the definition’s on every worker, until cleared; bad limits are refused', async () => {
    const overlap = new Overlap();
    const build = defineTask({
      name: 'build',
      validate: (payload) => payload as { n: number },
      limits: { concurrency: 4 },
      handler: async () => {
        overlap.enter();
        for (let i = 0; i < 20; i++) await tick();
        overlap.leave();
        return 'built';
      },
    });
    expect(await current.queue.setLimits(build, { concurrency: 1 })).toEqual({ task: 'build', limits: { concurrency: 1 }, label: '1 at once' });
    expect(await current.queue.limits()).toEqual([{ task: 'build', limits: { concurrency: 1 }, label: '1 at once' }]);
    await current.queue.enqueueMany(
      build,
      Array.from({ length: 12 }, (_, n) => ({ n })),
    );
    expect((await current.queue.status()).limits).toEqual([
      { task: 'build', limits: { concurrency: 1 }, label: '1 at once', source: 'database', running: 0, started_in_window: 0, ready: 12 },
    ]);
    await drainWithThree([build]);
    expect(overlap.most).toBe(1);
    // A left-out limit keeps what is set; null lifts it.
    expect(await current.queue.setLimits('build', { rate: '10/1s' })).toMatchObject({ limits: { concurrency: 1, rate: { max: 10, perMs: 1_000 } } });
    expect(await current.queue.setLimits('build', { concurrency: null })).toMatchObject({ label: '10/1s' });
    expect(await current.queue.setLimits('build', null)).toMatchObject({ task: 'build', limits: null });
    expect(await current.queue.limits()).toEqual([]);
    // The workers said what their definition's limits are: the status shows those now.
    expect((await current.queue.status()).limits).toEqual([
      { task: 'build', limits: { concurrency: 4 }, label: '4 at once', source: 'definition', running: 0, started_in_window: 0, ready: 0 },
    ]);

    for (const bad of [
      { concurrency: 0 },
      { concurrency: 1.5 },
      { rate: '5 per second' },
      { rate: { max: 5, perMs: 0 } },
      { groupConcurrency: -1 },
    ]) {
      await expect(current.queue.setLimits('build', bad as never), JSON.stringify(bad)).rejects.toThrow(UsageError);
    }
    expect(() => defineTask({ name: 'x', validate: (p) => p, limits: { concurrency: 0 }, handler: async () => 1 })).toThrow(
      'task x: limits.concurrency must be a whole number from 1 to 1000000, got 0',
    );
    const grouped = defineTask({
      name: 'grouped',
      validate: (p) => p as { id?: string },
      limits: { group: { key: (p) => p.id as string, concurrency: 1 } },
      handler: async () => 1,
    });
    await expect(current.queue.enqueue(grouped, {})).rejects.toThrow('task grouped: limits.group.key must return a string of 1 to 500 characters');
    expect(await current.db.count('select count(*) from jobs where task = ?', 'grouped')).toBe(0);
  });
});
