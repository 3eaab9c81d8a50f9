import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Durability, JobStore } from '../store/store.js';
import type { AnyTask } from './task.js';
import { Worker, type JobEvent, type Logger } from './worker.js';

// For an application's own tests: a queue on a throwaway SQLite file, and running its ready jobs
// here until none is left, through the same claim and fence as any worker, so a test sees what
// production would do and waits for no poll. The Queue handle (queue.ts) exposes both.

export interface TestQueueOptions {
  /** Default `normal`: a test file need not survive a power cut, and skipping an fsync per commit is faster. */
  durability?: Durability;
}

/**
 * Makes a fresh folder in the OS's temporary directory and calls `open` with a database file in
 * it and a function that removes the folder (what closing the handle must call, after the
 * database is closed). If `open` rejects, the folder is removed at once.
 */
export async function openInTestFolder<T>(open: (file: string, removeFolder: () => void) => Promise<T>): Promise<T> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'usergen-test-'));
  const removeFolder = () => fs.rmSync(folder, { recursive: true, force: true });
  try {
    return await open(path.join(folder, 'usergen.db'), removeFolder);
  } catch (error) {
    removeFolder();
    throw error;
  }
}

export interface RunUntilIdleOptions {
  /** The tasks to run: jobs of other tasks stay queued. */
  tasks: readonly AnyTask[];
  /** Jobs run at once (default 1: jobs run one after another, in claim order). */
  concurrency?: number;
  logger?: Logger;
  /** Stops claiming; a job running then is given back to the queue at once (its attempt not counted). */
  signal?: AbortSignal;
}

/** One attempt that ended: the job, its attempt (1 on the first), and its result (succeeded) or error (failed, retried). */
export type JobOutcome = JobEvent;

/** What a run until idle did, each list in the order the attempts ended. */
export interface IdleReport {
  succeeded: JobOutcome[];
  /** Failed for good: no attempts left, or a failure no retry can fix. */
  failed: JobOutcome[];
  /** Failed and queued again for later: not run again here unless that later came before the run ended. */
  retried: JobOutcome[];
  /** Attempts that ended (succeeded, failed or retried). */
  ran: number;
}

/**
 * Runs every ready job of `options.tasks` in this process, including those the run itself
 * enqueues (in a handler or a completion) that are ready at once, and resolves once none is ready
 * or running. A job retried for later (backoff, RetryAfterError) is not waited for. No worker row
 * is written. Rejects as a draining worker does: for a damaged or unusable database, never for a
 * job's sake.
 */
export async function runUntilIdle(store: JobStore, options: RunUntilIdleOptions): Promise<IdleReport> {
  const report: IdleReport = { succeeded: [], failed: [], retried: [], ran: 0 };
  const worker = new Worker(store, {
    tasks: options.tasks,
    concurrency: options.concurrency ?? 1,
    drain: true,
    register: false,
    graceMs: 0,
    logger: options.logger,
  });
  for (const outcome of ['succeeded', 'failed', 'retried'] as const) {
    worker.on(outcome, (event) => {
      report[outcome].push(event);
      report.ran += 1;
    });
  }
  await worker.run(options.signal);
  return report;
}
