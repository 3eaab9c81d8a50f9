import { describe, expect, it } from 'vitest';
import { defineTask, UsageError } from '../../src/index.js';
import { pruneEnded } from '../../src/queue/pruning.js';
import { openStore } from '../../src/store/open.js';
import { queueOnEachTest } from '../engine-queue.js';
import { ENGINES } from '../engines.js';
import { runCli, waitFor } from '../helpers.js';

// Retention: a worker deletes the ended jobs of its tasks past their retention (the task's own,
// else the queue-wide default; the default keeps everything), in batches, beside its own work; a
// unique key stays spent after its job is deleted, by retention or by purge.

const asObject = (payload: unknown) => payload as Record<string, unknown>;
const HOUR = 3_600_000;

describe.each(ENGINES)('retention on $name', (engine) => {
  const current = queueOnEachTest(engine);

  /** Kept an hour once succeeded (its own), failed and cancelled as the queue says. */
  const report = defineTask({ name: 'report', validate: asObject, maxAttempts: 1, retention: { succeeded: '1h' }, handler: async () => 'done' });
  /** No retention of its own. */
  const mail = defineTask({
    name: 'mail',
    validate: asObject,
    maxAttempts: 1,
    handler: async (payload: Record<string, unknown>) => {
      if (payload.bounce) throw new Error('bounced');
      return 'sent';
    },
  });

  /** Moves the end of these jobs back by `ms`, as if they had ended that long ago. */
  const endedAgo = (ids: number[], ms: number) =>
    current.db.run(`update jobs set finished_at = finished_at - ${ms} where id in (${ids.map(Number).join(', ')})`);
  const countOf = (where: string) => current.db.count(`select count(*) from jobs where ${where}`);

  it('deletes only what is past its retention, in batches, while a worker drains new jobs, and says so', async () => {
    const { queue } = current;
    expect(await queue.retention()).toEqual({ succeeded: null, failed: null, cancelled: null });
    expect(await queue.setRetention({ failed: '1d' })).toEqual({ succeeded: null, failed: 86_400_000, cancelled: null });

    const oldReports = await queue.enqueueMany(
      report,
      Array.from({ length: 1_200 }, (_, n) => ({ n })),
    );
    const youngReport = await queue.enqueue(report, { young: true });
    const oldBounces = await queue.enqueueMany(mail, [{ bounce: true }, { bounce: true }]);
    const youngBounce = await queue.enqueue(mail, { bounce: true });
    const oldSent = await queue.enqueue(mail, {});
    const oldCancelled = await queue.enqueue(report, { cancelled: true });
    const once = await queue.enqueue(report, { once: true }, { uniqueKey: 'report of 2026-12-07' });
    await queue.cancel(oldCancelled.id);
    await queue.worker({ tasks: [report, mail], concurrency: 8, drain: true }).run();
    await endedAgo([...oldReports, once!.id], 2 * HOUR);
    await endedAgo([...oldBounces, oldSent.id, oldCancelled.id], 2 * 86_400_000);
    await endedAgo([youngBounce.id], HOUR);

    const fresh = await queue.enqueueMany(
      mail,
      Array.from({ length: 2_000 }, (_, n) => ({ n })),
    );
    const lines: string[] = [];
    const logger = { debug() {}, info: (line: string) => lines.push(line), warn() {}, error() {} };
    const stop = new AbortController();
    const running = queue.worker({ tasks: [report, mail], concurrency: 8, logger }).run(stop.signal);
    try {
      await waitFor(
        async () =>
          (await countOf("task = 'mail' and state = 'succeeded'")) === 2_001 && lines.some((line) => line.includes('failed job(s) of mail')),
        'the drain and the pruning',
      );
      await waitFor(() => lines.some((line) => line.includes('succeeded job(s) of report')), 'the reports pruned');
    } finally {
      stop.abort();
      await running;
    }
    expect(lines.filter((line) => line.startsWith('Retention:')).sort()).toEqual([
      'Retention: deleted 1201 succeeded job(s) of report (3 batch(es))',
      'Retention: deleted 2 failed job(s) of mail (1 batch(es))',
    ]);
    expect(await countOf(`id in (${[...oldReports, once!.id, ...oldBounces].join(', ')})`)).toBe(0);
    // Kept: the young report, the young bounce, the mail that succeeded (kept for ever), the cancelled report, the fresh drain.
    const kept = await current.db.all<{ id: number }>(`select id from jobs where id not in (${fresh.join(', ')}) order by id`);
    expect(kept.map((row) => row.id)).toEqual([youngReport.id, youngBounce.id, oldSent.id, oldCancelled.id]);
    expect(await countOf(`id in (${fresh.join(', ')}) and state = 'succeeded'`)).toBe(2_000);

    expect(await queue.enqueue(report, { once: true }, { uniqueKey: 'report of 2026-12-07' })).toBeUndefined();
  });

  it("a worker's next pass scans from where its last one ended, not from the oldest ended job", async () => {
    const { queue, location } = current;
    const ids = await queue.enqueueMany(
      report,
      Array.from({ length: 30 }, (_, n) => ({ n })),
    );
    await queue.worker({ tasks: [report], concurrency: 4, drain: true }).run();
    const [first, passedOver, later] = [ids.slice(0, 10), ids.slice(10, 20), ids.slice(20)];
    const endedAt = (jobs: number[], at: number) => current.db.run(`update jobs set finished_at = ${at} where id in (${jobs.join(', ')})`);
    const t = Date.now();
    await endedAt(first, t - 2 * HOUR);
    await endedAt([...passedOver, ...later], t);
    const store = await openStore(location);
    try {
      const upTo = new Map<string, number>();
      expect(await pruneEnded(store, [report], t, 100, upTo)).toEqual([{ task: 'report', state: 'succeeded', deleted: 10, batches: 1 }]);
      // One before where the first pass went (as no job can end), one after: the next pass takes the second only.
      await endedAt(passedOver, t - 3 * HOUR);
      await endedAt(later, t - 30 * 60_000);
      expect(await pruneEnded(store, [report], t + HOUR, 100, upTo)).toEqual([{ task: 'report', state: 'succeeded', deleted: 10, batches: 1 }]);
      expect(await countOf(`id in (${later.join(', ')})`)).toBe(0);
      expect(await pruneEnded(store, [report], t + HOUR, 100, upTo)).toEqual([]);
      // A new worker's first pass scans from the oldest.
      expect(await pruneEnded(store, [report], t + HOUR, 100)).toEqual([{ task: 'report', state: 'succeeded', deleted: 10, batches: 1 }]);
    } finally {
      await store.close();
    }
  });

  it('a pass deletes in batches of the size asked; a unique key stays spent after a purge too', async () => {
    const { queue, location } = current;
    const ids = await queue.enqueueMany(
      report,
      Array.from({ length: 250 }, (_, n) => ({ n })),
    );
    const keyed = await queue.enqueue(mail, {}, { uniqueKey: 'welcome:ada' });
    await queue.worker({ tasks: [report, mail], concurrency: 4, drain: true }).run();
    await endedAgo(ids, 2 * HOUR);
    const store = await openStore(location);
    try {
      expect(await pruneEnded(store, [report, mail], Date.now(), 100)).toEqual([{ task: 'report', state: 'succeeded', deleted: 250, batches: 3 }]);
      expect(await pruneEnded(store, [report, mail], Date.now(), 100)).toEqual([]);
    } finally {
      await store.close();
    }
    expect(await queue.purge({ state: 'succeeded', olderThanMs: 0, now: Date.now() + 1 })).toEqual({ deleted: 1 });
    expect(await queue.getJob(keyed!.id)).toBeUndefined();
    expect(await queue.enqueue(mail, {}, { uniqueKey: 'welcome:ada' })).toBeUndefined();
    expect(await queue.enqueue(mail, {}, { uniqueKey: 'welcome:grace' })).toMatchObject({ state: 'queued' });
    expect(await current.db.all('select unique_key, job_id from spent_unique_keys')).toEqual([{ unique_key: 'welcome:ada', job_id: keyed!.id }]);
  });

  it('refuses a retention it cannot read, in defineTask and in setRetention, with one line; usergen retention shows and sets it', async () => {
    expect(() => defineTask({ name: 'x', validate: asObject, handler: async () => 1, retention: { succeeded: '7 days' } })).toThrow(
      "task x: retention.succeeded must be a duration like 250ms, 30s, 5m, 1h or 1d, got '7 days'",
    );
    expect(() => defineTask({ name: 'x', validate: asObject, handler: async () => 1, retention: { done: '7d' } as never })).toThrow(
      "task x: retention takes succeeded, failed, cancelled, got 'done'",
    );
    await expect(current.queue.setRetention({ failed: -1 })).rejects.toBeInstanceOf(UsageError);
    expect(await current.queue.retention()).toEqual({ succeeded: null, failed: null, cancelled: null });

    const cli = (...args: string[]) => runCli(['retention', ...args, '--db', current.location]);
    expect((await cli()).stdout).toBe('Retention: succeeded kept for ever, failed kept for ever, cancelled kept for ever.\n');
    expect((await cli('--succeeded', '7d', '--cancelled', '12h')).stdout).toBe(
      'Retention is now: succeeded 7d, failed kept for ever, cancelled 12h.\n',
    );
    expect((await cli('--cancelled', 'keep')).stdout).toBe('Retention is now: succeeded 7d, failed kept for ever, cancelled kept for ever.\n');
    const bad = await cli('--failed', '30 days');
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({
      code: 2,
      stderr: "usergen: error: --failed must be a duration like 250ms, 30s, 5m, 1h or 1d, got '30 days'\n",
    });
    expect(JSON.parse((await cli('--json')).stdout)).toEqual({ succeeded: 604_800_000, failed: null, cancelled: null });
  });
});
