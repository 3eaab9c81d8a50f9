import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineTask, UsageError } from '../../src/index.js';
import { queueOnEachTest } from '../engine-queue.js';
import { ENGINES } from '../engines.js';
import { ROOT, runCli, waitFor } from '../helpers.js';

// Dedupe windows and debounce: at most one job of a task per key while queued (or while queued or
// running); an enqueue meanwhile returns that job, or (debounce) gives it its payload and pushes
// its run time. A unique key keeps meaning "once, ever".

const ENQUEUER = path.join(ROOT, 'test', 'fixtures', 'enqueue-deduped.mjs');
const asObject = (payload: unknown) => payload as Record<string, unknown>;

describe.each(ENGINES)('dedupe and debounce on $name', (engine) => {
  const current = queueOnEachTest(engine);
  const digest = defineTask({ name: 'digest', validate: asObject, handler: async () => 'sent' });

  for (const mode of ['dedupe', 'debounce'] as const) {
    it(`${mode}: 8 processes enqueueing 25 times each under one key at once leave exactly one waiting job, and are all given it`, async () => {
      const runs = await Promise.all(
        Array.from({ length: 8 }, (_, n) => runCli([current.location, mode, '25', `p${n}`], { command: [process.execPath, ENQUEUER] })),
      );
      for (const run of runs) expect(run.code, run.stderr).toBe(0);
      const given = runs.flatMap((run) => JSON.parse(run.stdout) as number[]);
      const jobs = await current.db.all<{ id: number; state: string; payload: string; run_at: number; created_at: number }>(
        'select id, state, payload, run_at, created_at from jobs',
      );
      expect(jobs.map((job) => job.state)).toEqual(['queued']);
      expect(new Set(given)).toEqual(new Set([jobs[0]!.id]));
      if (mode === 'debounce') {
        // The payload of the enqueue that came last, and a run time a minute after it.
        expect(JSON.parse(jobs[0]!.payload)).toEqual({ from: expect.stringMatching(/^p[0-7]$/), i: expect.any(Number) });
        expect(jobs[0]!.run_at - jobs[0]!.created_at).toBeGreaterThan(60_000);
      }
    });
  }

  it("while 'queued' a claimed job lets its key go; while 'active' the running job keeps it until it ends", async () => {
    const { queue } = current;
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = defineTask({ name: 'slow', validate: asObject, handler: async () => held.then(() => 'done') });
    const first = await queue.enqueue(slow, { n: 1 }, { dedupe: { key: 'k' } });
    const firstActive = await queue.enqueue(slow, { n: 1 }, { dedupe: { key: 'a', while: 'active' } });
    expect((await queue.enqueue(slow, { n: 2 }, { dedupe: { key: 'k' } })).id).toBe(first.id);
    expect((await queue.enqueue(slow, { n: 2 }, { dedupe: { key: 'a', while: 'active' } })).id).toBe(firstActive.id);
    // Another task's job of the same key is its own.
    expect((await queue.enqueue(digest, {}, { dedupe: { key: 'k' } })).id).not.toBe(first.id);

    const stop = new AbortController();
    const running = queue.worker({ tasks: [slow], concurrency: 2 }).run(stop.signal);
    try {
      await waitFor(async () => (await current.db.count("select count(*) from jobs where task = 'slow' and state = 'running'")) === 2, 'both to run');
      const second = await queue.enqueue(slow, { n: 3 }, { dedupe: { key: 'k' } });
      expect(second.id).not.toBe(first.id);
      expect(second.state).toBe('queued');
      const sameActive = await queue.enqueue(slow, { n: 3 }, { dedupe: { key: 'a', while: 'active' } });
      expect({ id: sameActive.id, state: sameActive.state }).toEqual({ id: firstActive.id, state: 'running' });
      release();
      expect(await queue.result(firstActive)).toBe('done');
      const after = await queue.enqueue(slow, { n: 4 }, { dedupe: { key: 'a', while: 'active' } });
      expect(after.id).not.toBe(firstActive.id);
      await Promise.all([queue.result(second), queue.result(after)]);
    } finally {
      stop.abort();
      await running;
    }
  });

  it("a key is the task's own: task a/b's key c is not task a's key b/c", async () => {
    const { queue } = current;
    const ab = defineTask({ name: 'a/b', validate: asObject, handler: async () => 'ab' });
    const a = defineTask({ name: 'a', validate: asObject, handler: async () => 'a' });
    const first = await queue.enqueue(ab, {}, { dedupe: { key: 'c' } });
    const second = await queue.enqueue(a, {}, { dedupe: { key: 'b/c' } });
    expect(second.id).not.toBe(first.id);
    expect(second.task).toBe('a');
    expect((await queue.enqueue(a, {}, { dedupe: { key: 'b/c' } })).id).toBe(second.id);
  });

  it('a debounce gives the waiting job the last payload and pushes its run time; inside a transaction too, and rolled back with it', async () => {
    const { queue } = current;
    const first = await queue.enqueue(digest, { n: 1 }, { dedupe: { key: 'u5' }, debounceMs: 60_000 });
    const second = await queue.enqueue(digest, { n: 2 }, { dedupe: { key: 'u5' }, debounceMs: 120_000 });
    expect(second.id).toBe(first.id);
    expect(JSON.parse(second.payload)).toEqual({ n: 2 });
    expect(second.run_at).toBeGreaterThanOrEqual(first.run_at + 60_000);

    const inside = await queue.transaction(async (tx) => tx.enqueue(digest, { n: 3 }, { dedupe: { key: 'u5' }, debounceMs: 1_000 }));
    expect(inside.id).toBe(first.id);
    await expect(
      queue.transaction(async (tx) => {
        await tx.enqueue(digest, { n: 4 }, { dedupe: { key: 'u6' } });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await current.db.all('select id, payload from jobs')).toEqual([{ id: first.id, payload: JSON.stringify({ n: 3 }) }]);
  });

  it('a failed deduplicated job retried by hand while another holds its key is retried, no longer deduplicated', async () => {
    const { queue } = current;
    const bounce = defineTask({
      name: 'bounce',
      validate: asObject,
      maxAttempts: 1,
      handler: async (): Promise<string> => {
        throw new Error('bounced');
      },
    });
    const failed = await queue.enqueue(bounce, {}, { dedupe: { key: 'k', while: 'active' } });
    await queue.worker({ tasks: [bounce], concurrency: 1, drain: true }).run();
    const holder = await queue.enqueue(bounce, {}, { dedupe: { key: 'k', while: 'active' } });
    expect(holder.id).not.toBe(failed.id);
    expect((await queue.retry(failed.id)).state).toBe('queued');
    expect(await current.db.count("select count(*) from jobs where state = 'queued'")).toBe(2);
  });

  it('refuses what cannot go together, with one line, and enqueues nothing', async () => {
    const { queue } = current;
    const refusals: Array<[() => Promise<unknown>, string]> = [
      [() => queue.enqueue(digest, {}, { debounceMs: 10 }), 'debounceMs needs a dedupe key: { dedupe: { key }, debounceMs }'],
      [
        () => queue.enqueue(digest, {}, { dedupe: { key: 'k', while: 'active' }, debounceMs: 10 }),
        "debounceMs replaces a waiting job: it goes with dedupe.while 'queued' only",
      ],
      [() => queue.enqueue(digest, {}, { dedupe: { key: '' } }), 'a dedupe key is a string of 1 to 500 characters, got ""'],
      [() => queue.enqueue(digest, {}, { dedupe: { key: 'k', while: 'ever' as never } }), `dedupe.while is 'queued' or 'active', got "ever"`],
      [
        () => queue.enqueue(digest, {}, { dedupe: { key: 'k' }, debounceMs: 10, delayMs: 5 }),
        'debounceMs sets the run time: not with runAt or delayMs',
      ],
      [() => queue.enqueue(digest, {}, { dedupe: { key: 'k' }, uniqueKey: 'u' } as never), 'a job has a uniqueKey or a dedupe key, not both'],
      [() => queue.enqueueMany(digest, [{}], { dedupe: { key: 'k' } }), 'enqueueMany takes no dedupe key: enqueue each job'],
    ];
    for (const [call, message] of refusals) {
      const refusal = await call().catch((error: unknown) => error);
      expect(refusal, message).toBeInstanceOf(UsageError);
      expect((refusal as Error).message).toBe(message);
    }
    expect(await current.db.count('select count(*) from jobs')).toBe(0);
  });
});
