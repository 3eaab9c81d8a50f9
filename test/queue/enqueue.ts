import type BetterSqlite3 from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { NewJobSpec } from '../../src/store/store.js';
import { count, inspectDb, startCli, tempDb, waitFor } from '../helpers.js';

/** Commits jobs into a database file through the library, as any enqueuing process would. */
export async function enqueueJobs(file: string, specs: Array<Partial<NewJobSpec> & { task: string; payload: unknown }>): Promise<number[]> {
  const store = await openSqliteStore(file);
  try {
    const ids: number[] = [];
    for (const spec of specs) ids.push((await store.enqueue({ maxAttempts: 3, ...spec })).id);
    return ids;
  } finally {
    await store.close();
  }
}

export function generateJob(total: number, iterations = 1000) {
  return { task: 'generate_users', payload: { total, iterations } };
}

// Hashes slow enough that a job is caught mid-way, fast enough to finish twice in a test.
export const SLOW_ITERATIONS = 50_000;

export function progressOf(db: BetterSqlite3.Database, id: number): number {
  return count(db, "select coalesce(progress_current, 0) from jobs where id = ? and state = 'running'", id);
}

/** A job of `total` users (500 unless told), and a worker (started with `args`) caught hashing it. */
export async function hashingWorker(args: string[], total = 500) {
  const { db: file } = tempDb();
  const [id] = await enqueueJobs(file, [generateJob(total, SLOW_ITERATIONS)]);
  const db = inspectDb(file);
  const worker = startCli(['worker', '--db', file, ...args]);
  await waitFor(() => progressOf(db, id!) > 0, 'the worker to be hashing');
  return { file, id: id!, db, worker };
}
