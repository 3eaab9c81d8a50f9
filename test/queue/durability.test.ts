import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/sqlite/open.js';
import type { Database } from '../../src/store/schema.js';
import { claimJobs, enqueueJob } from '../../src/store/sqlite/jobs.js';
import { tempDb } from '../helpers.js';

// `pragma synchronous`: 2 is FULL, 1 is NORMAL. It is a setting of the connection, so it is read
// on the handle's own (single) connection.
const FULL = 2;
const NORMAL = 1;

async function synchronous(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(db);
  return rows[0]!.synchronous;
}

const opened: Array<Kysely<Database>> = [];
async function open(file: string, durability?: 'full' | 'normal'): Promise<Kysely<Database>> {
  const db = await openDatabase(file, durability === undefined ? {} : { durability });
  opened.push(db);
  return db;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((db) => db.destroy()));
});

describe('durability', () => {
  it('normal runs its connection at synchronous=NORMAL, and claims leave it so', async () => {
    const { db: file } = tempDb();
    const db = await open(file, 'normal');
    expect(await synchronous(db)).toBe(NORMAL);
    await enqueueJob(db, { task: 'noop', payload: {}, maxAttempts: 1 });
    expect(await claimJobs(db, 'w', 1, 60_000)).toHaveLength(1);
    expect(await synchronous(db)).toBe(NORMAL);
    // Another handle on the same file keeps its own setting: FULL by default.
    expect(await synchronous(await open(file))).toBe(FULL);
  });

  it('full (the default) is FULL again after each claim, whether it found a job or not', async () => {
    const { db: file } = tempDb();
    const db = await open(file);
    expect(await synchronous(db)).toBe(FULL);
    await enqueueJob(db, { task: 'noop', payload: {}, maxAttempts: 1 });
    expect(await claimJobs(db, 'w', 1, 60_000)).toHaveLength(1);
    expect(await synchronous(db)).toBe(FULL);
    expect(await claimJobs(db, 'w', 1, 60_000)).toHaveLength(0);
    expect(await synchronous(db)).toBe(FULL);
    expect(await synchronous(await open(file, 'full'))).toBe(FULL);
  });
});
