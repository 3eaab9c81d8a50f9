import { expect } from 'vitest';
import { defineTask, openQueue, UsageError, type Queue, type Worker, type WorkerSummary } from '../../src/index.js';
import { openStore } from '../../src/store/open.js';
import type { JobStore } from '../../src/store/store.js';
import type { Engine } from '../engines.js';
import { waitFor } from '../helpers.js';
import { inspect, type Probe } from '../inspect.js';

// What the tests of schedules kept in the database share (schedule-saving and schedule-firing):
// a queue on a fresh database, another connection to read and write it as another process would,
// and the workers and stores a test starts there, stopped however the test ends.

/** What `attempt` was refused with: a UsageError of one line. */
export async function refusal(attempt: () => unknown): Promise<string> {
  const error = await Promise.resolve()
    .then(attempt)
    .then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
  expect(error).toBeInstanceOf(UsageError);
  const { message } = error as UsageError;
  expect(message).not.toContain('\n');
  return message;
}

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

export function asTick(payload: unknown): { n: number } {
  if (typeof (payload as { n?: unknown } | null)?.n !== 'number') throw new Error('n must be a number');
  return payload as { n: number };
}

export const tick = defineTask({ name: 'tick', maxAttempts: 3, validate: asTick, handler: async ({ n }) => n });

export interface SlotJob {
  id: number;
  unique_key: string;
  run_at: number;
  state: string;
  priority: number;
  max_attempts: number;
}

export interface ScheduleState {
  next_run_at: number;
  skipped: number;
  paused: number;
  last_job_id: number | null;
}

export interface ScheduleTest {
  queue: Queue;
  /** Another connection on the database, as another process would read and write it. */
  db: Probe;
  /** Runs `worker` until the returned function is called (or the test ends); that resolves its summary. */
  start(worker: Worker): () => Promise<WorkerSummary>;
  /** A store of its own on the database, as another process's worker would have. */
  otherStore(): Promise<JobStore>;
  /** The jobs of the schedule `name`'s slots, by slot. */
  jobsOf(name: string): Promise<SlotJob[]>;
  scheduleRow(name: string): Promise<ScheduleState>;
  scheduleCount(): Promise<number>;
  /** Resolves once a job of `name` for a slot after `time` exists. */
  jobAfter(name: string, time: number, what: string): Promise<unknown>;
  /**
   * Stops what the test started (workers, then their stores) and closes the queue. Call it in an
   * afterEach: it must run when the test fails too, and before test/setup.ts looks for leaked workers.
   */
  close(): Promise<void>;
}

/** A queue on a fresh database of `engine`, and what a test of its schedules starts and reads there. */
export async function openScheduleTest(engine: Engine): Promise<ScheduleTest> {
  const location = await engine.database();
  const queue = await openQueue({ db: location });
  const db = await inspect(location);
  const cleanups: Array<() => Promise<unknown>> = [];
  return {
    queue,
    db,
    start(worker) {
      const stopping = new AbortController();
      const run = worker.run(stopping.signal);
      const stop = () => {
        stopping.abort();
        return run;
      };
      cleanups.push(stop);
      return stop;
    },
    async otherStore() {
      const store = await openStore(location);
      cleanups.unshift(() => store.close());
      return store;
    },
    jobsOf: (name) =>
      db.all<SlotJob>('select id, unique_key, run_at, state, priority, max_attempts from jobs where unique_key like ? order by run_at', `${name}@%`),
    scheduleRow: async (name) =>
      (await db.one<ScheduleState>('select next_run_at, skipped, paused, last_job_id from schedules where name = ?', name))!,
    scheduleCount: () => db.count('select count(*) from schedules'),
    jobAfter: (name, time, what) =>
      waitFor(async () => (await db.count('select count(*) from jobs where unique_key like ? and run_at > ?', `${name}@%`, time)) > 0, what),
    async close() {
      for (const cleanup of cleanups.reverse()) await cleanup();
      await queue.close();
    },
  };
}
