import { openDatabase } from '../../src/db/open.js';
import { enqueueJob, type NewJobSpec } from '../../src/queue/store.js';

/** Commits jobs into a database file through the library, as any enqueuing process would. */
export async function enqueueJobs(file: string, specs: Array<Partial<NewJobSpec> & { task: string; payload: unknown }>): Promise<number[]> {
  const db = await openDatabase(file);
  try {
    const ids: number[] = [];
    for (const spec of specs) ids.push((await enqueueJob(db, { maxAttempts: 3, ...spec })).id);
    return ids;
  } finally {
    await db.destroy();
  }
}

export function generateJob(total: number, iterations = 1000) {
  return { task: 'generate_users', payload: { total, iterations } };
}
