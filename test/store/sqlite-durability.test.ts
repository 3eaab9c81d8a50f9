import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.js';
import { tempDb } from '../helpers.js';

// `pragma synchronous`: 2 is FULL, 1 is NORMAL. It is a setting of the connection, so it is read
// on the handle's own (single) connection.
const FULL = 2;
const NORMAL = 1;

async function synchronous(store: SqliteStore): Promise<number> {
  const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(store.db);
  return rows[0]!.synchronous;
}

const opened: SqliteStore[] = [];
async function open(file: string, durability?: 'full' | 'normal'): Promise<SqliteStore> {
  const store = await openSqliteStore(file, durability === undefined ? {} : { durability });
  opened.push(store);
  return store;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

describe('durability', () => {
  it('normal runs its connection at synchronous=NORMAL, and claims leave it so', async () => {
    const { db: file } = tempDb();
    const db = await open(file, 'normal');
    expect(await synchronous(db)).toBe(NORMAL);
    await db.enqueue({ task: 'noop', payload: {}, maxAttempts: 1 });
    expect((await db.claim('w', 1, 60_000, { tasks: ['noop'] })).jobs).toHaveLength(1);
    expect(await synchronous(db)).toBe(NORMAL);
    // Another handle on the same file keeps its own setting: FULL by default.
    expect(await synchronous(await open(file))).toBe(FULL);
  });

  it('full (the default) is FULL again after each claim, whether it found a job or not', async () => {
    const { db: file } = tempDb();
    const db = await open(file);
    expect(await synchronous(db)).toBe(FULL);
    await db.enqueue({ task: 'noop', payload: {}, maxAttempts: 1 });
    expect((await db.claim('w', 1, 60_000, { tasks: ['noop'] })).jobs).toHaveLength(1);
    expect(await synchronous(db)).toBe(FULL);
    expect((await db.claim('w', 1, 60_000, { tasks: ['noop'] })).jobs).toHaveLength(0);
    expect(await synchronous(db)).toBe(FULL);
    expect(await synchronous(await open(file, 'full'))).toBe(FULL);
  });
});
