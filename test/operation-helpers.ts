import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'vitest';
import { enqueueGeneration } from '../src/operations/generate.js';
import { runWorker, workerTasks, type RunWorkerOptions } from '../src/operations/worker.js';
import { openStore } from '../src/store/open.js';
import type { JobStore } from '../src/store/store.js';
import { countUsers } from '../src/tasks/users.js';
import { ROOT } from './helpers.js';

// For the tests that call the operations as a library: a database opened for a while, a logger
// that keeps its lines, and users made through the worker operation.

export const GENERATE = { iterations: 1000, priority: 0, delayMs: 0 };

/** Opens `file` (made if missing), runs `work` on it, and closes it. */
export async function withDatabase<T>(file: string, work: (store: JobStore) => Promise<T>): Promise<T> {
  const store = await openStore(file);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** A logger that keeps its lines. */
export function keptLog(): { lines: string[]; logger: RunWorkerOptions['logger'] } {
  const lines: string[] = [];
  const keep = (level: string) => (message: string) => lines.push(`${level}: ${message}`);
  return { lines, logger: { debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error'), infoEnabled: true } };
}

export async function drainOptions(modules: string[] = []): Promise<RunWorkerOptions> {
  return {
    tasks: await workerTasks(modules),
    concurrency: 2,
    drain: true,
    pollMs: 50,
    graceMs: 5_000,
    leaseMs: 30_000,
    logger: keptLog().logger,
    signal: new AbortController().signal,
  };
}

/** Generates users in `file` by draining one generate_users job per total through the worker operation. */
export async function generateUsers(file: string, totals: number[]): Promise<number> {
  return withDatabase(file, async (store) => {
    for (const total of totals) await enqueueGeneration(store, { ...GENERATE, total });
    const run = await runWorker(store, await drainOptions());
    expect(run.summary).toEqual({ succeeded: totals.length, failed: 0, retried: 0, released: 0 });
    return countUsers(store.db);
  });
}

/**
 * The compiled module of `src/<name>.ts` (from dist/, so build first), typed by its source. A
 * backup's copy runs in a worker thread that loads its own compiled file beside the store's
 * module, which exists only in dist/: the tests that back up use the built store and operations.
 */
export async function built<T>(name: string): Promise<T> {
  return (await import(pathToFileURL(path.join(ROOT, 'dist', `${name}.js`)).href)) as T;
}
