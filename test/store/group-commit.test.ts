import type { Transaction } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/store/schema.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.js';
import { inspectDb, tempDb } from '../helpers.js';

let file: string;
let store: SqliteStore;

beforeEach(async () => {
  file = tempDb().db;
  store = await openSqliteStore(file);
});

afterEach(async () => {
  await store.close();
});

const job = (label: string) => ({ task: 'noop', payload: { label }, maxAttempts: 1 });

describe('group commit', () => {
  it('a write that throws is rolled back alone; the others of its batch commit', async () => {
    // The first write holds the store's transaction, so the three after it queue up and go in one batch.
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    const first = store.write(async () => gate);

    const batch: Array<Transaction<Database>> = [];
    const boom = new Error('this write fails');
    const before = store.write(async (tx) => {
      batch.push(tx.db);
      return (await tx.enqueue(job('before'))).id;
    });
    const failing = store.write(async (tx) => {
      batch.push(tx.db);
      await tx.enqueue(job('failing'));
      throw boom;
    });
    const after = store.write(async (tx) => {
      batch.push(tx.db);
      return (await tx.enqueue(job('after'))).id;
    });
    const outcomes = Promise.allSettled([first, before, failing, after]);
    await new Promise(setImmediate);
    open();

    const [, committedBefore, failed, committedAfter] = await outcomes;
    expect(failed).toEqual({ status: 'rejected', reason: boom });
    expect(committedBefore!.status).toBe('fulfilled');
    expect(committedAfter!.status).toBe('fulfilled');
    const ids = [committedBefore, committedAfter].map((outcome) => (outcome as PromiseFulfilledResult<number>).value);
    expect(batch).toHaveLength(3);
    expect(new Set(batch).size).toBe(1);

    // What another connection sees: what committed.
    const inspector = inspectDb(file);
    const rows = () => inspector.prepare("select id, json_extract(payload, '$.label') as label from jobs order by id").all();
    expect(rows()).toEqual([
      { id: ids[0], label: 'before' },
      { id: ids[1], label: 'after' },
    ]);

    // Writing goes on after the failure.
    const later = await store.write((tx) => tx.enqueue(job('later')));
    expect(rows()).toHaveLength(3);
    expect(rows()[2]).toEqual({ id: later.id, label: 'later' });
  });
});
