import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestQueue, defineTask } from '../../src/index.js';
import { jobSpec } from '../../src/queue/task.js';
import { openInTestFolder, runUntilIdle } from '../../src/queue/testing.js';
import { openStore } from '../../src/store/open.js';
import type { JobStore } from '../../src/store/store.js';
import { ENGINES } from '../engines.js';

// What an application's own tests use: runUntilIdle works every ready job of its tasks here,
// those it enqueues itself included, and says what happened; a test queue lives in a folder of
// its own under the OS's temporary directory, gone once it is closed.

const asObject = (payload: unknown) => payload as Record<string, unknown>;

const receipt = defineTask({ name: 'send_receipt', validate: asObject, handler: async (payload) => `receipt for order ${String(payload.order)}` });
const reminder = defineTask({ name: 'send_reminder', validate: asObject, handler: async () => 'reminded' });
const order = defineTask({
  name: 'place_order',
  validate: asObject,
  handler: (payload, context) =>
    context.complete(async (_trx, jobs) => {
      // Ready at once: run in the same runUntilIdle. Due in an hour: left queued.
      await jobs.enqueue(receipt, { order: payload.order });
      await jobs.enqueue(reminder, {}, { delayMs: 3_600_000 });
      return `order ${String(payload.order)} placed`;
    }),
});
const declined = defineTask<Record<string, unknown>, string>({
  name: 'charge_card',
  validate: asObject,
  maxAttempts: 1,
  handler: async () => {
    throw new Error('card declined');
  },
});
const flaky = defineTask<Record<string, unknown>, string>({
  name: 'call_partner',
  validate: asObject,
  maxAttempts: 2,
  backoff: { baseMs: 3_600_000, maxMs: 3_600_000 },
  handler: async () => {
    throw new Error('partner down');
  },
});

describe.each(ENGINES)('runUntilIdle on $name', (engine) => {
  let store: JobStore;

  beforeEach(async () => {
    store = await openStore(await engine.database());
  });

  afterEach(async () => {
    await store.close();
  });

  it('runs the ready jobs and those their run enqueues, and reports each outcome; what is not ready, or of another task, stays queued', async () => {
    const placed = await store.enqueue(jobSpec(order, { order: 7 }));
    const later = await store.enqueue(jobSpec(receipt, { order: 8 }, { delayMs: 3_600_000 }));
    const other = await store.enqueue(jobSpec(declined, {}));

    const report = await runUntilIdle(store, { tasks: [order, receipt, reminder] });

    const jobs = await store.listJobs({ limit: 10 });
    const byTask = (task: string) => jobs.filter((job) => job.task === task);
    const receiptJob = byTask('send_receipt').find((job) => job.id !== later.id)!;
    expect(report).toEqual({
      succeeded: [
        { id: placed.id, task: 'place_order', attempt: 1, result: 'order 7 placed' },
        { id: receiptJob.id, task: 'send_receipt', attempt: 1, result: 'receipt for order 7' },
      ],
      failed: [],
      retried: [],
      ran: 2,
    });
    expect(receiptJob.state).toBe('succeeded');
    expect(byTask('send_reminder').map((job) => job.state)).toEqual(['queued']);
    expect((await store.getJob(later.id))!.state).toBe('queued');
    expect((await store.getJob(other.id))!.state).toBe('queued');
    // No worker row was written: nothing outlives the run.
    expect(await store.workersInLease(0)).toEqual([]);
  });

  it('reports a job that failed for good and one retried for later, and does not wait for the retry', async () => {
    const failing = await store.enqueue(jobSpec(declined, {}));
    const retrying = await store.enqueue(jobSpec(flaky, {}));

    const report = await runUntilIdle(store, { tasks: [declined, flaky] });

    expect(report.succeeded).toEqual([]);
    expect(report.ran).toBe(2);
    expect(report.failed).toEqual([
      { id: failing.id, task: 'charge_card', attempt: 1, error: expect.objectContaining({ message: 'card declined' }) },
    ]);
    expect(report.retried).toEqual([
      { id: retrying.id, task: 'call_partner', attempt: 1, error: expect.objectContaining({ message: 'partner down' }) },
    ]);
    expect(await store.getJob(failing.id)).toMatchObject({ state: 'failed', attempts: 1 });
    expect(await store.getJob(retrying.id)).toMatchObject({ state: 'queued', attempts: 1 });
  });

  it('with nothing ready, returns at once with an empty report', async () => {
    expect(await runUntilIdle(store, { tasks: [order] })).toEqual({ succeeded: [], failed: [], retried: [], ran: 0 });
  });
});

describe('a test queue in a temporary folder', () => {
  const openTestQueue = async () => {
    const queue = await createTestQueue();
    return { queue, file: queue.file, close: () => queue.close() };
  };

  it('lives in a fresh folder under the OS temporary directory while open, and is gone once closed', async () => {
    const first = await openTestQueue();
    const second = await openTestQueue();
    try {
      const folder = path.dirname(first.file);
      expect(path.dirname(folder)).toBe(os.tmpdir());
      expect(path.basename(folder)).toMatch(/^usergen-test-/);
      expect(path.dirname(second.file)).not.toBe(folder);
      const job = await first.queue.enqueue(receipt, { order: 1 });
      expect(fs.existsSync(first.file)).toBe(true);
      expect((await first.queue.getJob(job.id))!.state).toBe('queued');
      await first.close();
      expect(fs.existsSync(folder)).toBe(false);
    } finally {
      await second.close();
    }
    expect(fs.existsSync(path.dirname(second.file))).toBe(false);
  });

  it('removes the folder when opening fails', async () => {
    let given = '';
    const opening = openInTestFolder(async (file) => {
      given = file;
      expect(fs.existsSync(path.dirname(file))).toBe(true);
      throw new Error('could not open');
    });
    await expect(opening).rejects.toThrow('could not open');
    expect(given).not.toBe('');
    expect(fs.existsSync(path.dirname(given))).toBe(false);
  });
});
