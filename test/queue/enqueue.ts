import { openStore } from '../../src/store/open.js';
import type { NewJobSpec } from '../../src/store/store.js';
import { startCli, waitFor } from '../helpers.js';
import { inspect, type Probe } from '../inspect.js';

/** Commits jobs into the database at `location` (made if missing) through the store, as any enqueuing process would. */
export async function enqueueJobs(location: string, specs: Array<Partial<NewJobSpec> & { task: string; payload: unknown }>): Promise<number[]> {
  const store = await openStore(location);
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

/** How far running job `id` has got (0 when it has not started or is not running). */
export async function progressOf(db: Probe, id: number): Promise<number> {
  return db.count("select coalesce(max(progress_current), 0) from jobs where id = ? and state = 'running'", id);
}

/** In the database at `file`, a job of `total` users (500 unless told), and a worker (started with `args`) caught hashing it. */
export async function hashingWorker(file: string, args: string[], total = 500) {
  const [id] = await enqueueJobs(file, [generateJob(total, SLOW_ITERATIONS)]);
  const db = await inspect(file);
  const worker = startCli(['worker', '--db', file, ...args]);
  await waitFor(async () => (await progressOf(db, id!)) > 0, 'the worker to be hashing');
  return { file, id: id!, db, worker };
}
