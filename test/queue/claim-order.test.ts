import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINES, type Engine } from '../engines.js';
import { runCli, tempDb } from '../helpers.js';
import { inspect } from '../inspect.js';
import { BEHAVIOUR_TASKS, jobRow } from './behaviour-helpers.js';
import { enqueueJobs } from './enqueue.js';

// Every job ready; enqueued in an order that none of the three keys alone gives.
const NOW = Date.now();
const JOBS: Array<[label: string, priority: number, runAt: number]> = [
  ['a', 0, NOW - 3_000],
  ['b', 5, NOW],
  ['c', 0, NOW - 5_000],
  ['d', 5, NOW - 1_000],
  ['e', 0, NOW - 3_000],
  ['f', -1, NOW - 10_000],
];
const CLAIM_ORDER = ['d', 'b', 'c', 'a', 'e', 'f'];

/** Enqueues JOBS, drains them with a worker of `concurrency`; returns the labels in the order they ran, and the database. */
async function runInOrder(engine: Engine, concurrency: number): Promise<{ ran: string[]; file: string; ids: number[] }> {
  const order = path.join(tempDb().dir, 'order');
  const file = await engine.database();
  const ids = await enqueueJobs(
    file,
    JOBS.map(([label, priority, runAt]) => ({ task: 'test_record_order', payload: { file: order, label }, priority, runAt })),
  );
  const run = await runCli(['worker', '--db', file, '--concurrency', String(concurrency), '--drain', '--tasks', BEHAVIOUR_TASKS]);
  expect(run.code, run.stderr).toBe(0);
  return { ran: fs.readFileSync(order, 'utf8').trim().split('\n'), file, ids };
}

describe.each(ENGINES)('claim order on $name', (engine) => {
  it('higher priority first, then earlier run_at, then lower id', async () => {
    const { ran, file, ids } = await runInOrder(engine, 1);
    expect(ran).toEqual(CLAIM_ORDER);
    const db = await inspect(file);
    const started: number[] = [];
    for (const label of CLAIM_ORDER) started.push((await jobRow(db, ids[JOBS.findIndex(([name]) => name === label)]!)).started_at!);
    expect(started).toEqual([...started].sort((x, y) => x - y));
  });

  it('the jobs of one claim start in that order too', async () => {
    // All six are ready when the worker starts: its first claim takes them together.
    const { ran } = await runInOrder(engine, 6);
    expect(ran).toEqual(CLAIM_ORDER);
  });
});
