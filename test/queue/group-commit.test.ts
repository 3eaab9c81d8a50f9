import type { Kysely, Transaction } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/sqlite/open.js';
import type { Database } from '../../src/store/schema.js';
import { groupCommitterOf } from '../../src/store/sqlite/group-commit.js';
import { enqueueJob } from '../../src/store/sqlite/jobs.js';
import { inspectDb, tempDb } from '../helpers.js';

let file: string;
let db: Kysely<Database>;

beforeEach(async () => {
  file = tempDb().db;
  db = await openDatabase(file);
});

afterEach(async () => {
  await db.destroy();
});

const job = (label: string) => ({ task: 'noop', payload: { label }, maxAttempts: 1 });

describe('group commit', () => {
  it('a write that throws is rolled back alone; the others of its batch commit', async () => {
    const committer = groupCommitterOf(db);
    // The first write holds the committer, so the three after it queue up and go in one batch.
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    const first = committer.submit(async () => gate);

    const batch: Array<Transaction<Database>> = [];
    const boom = new Error('this write fails');
    const before = committer.submit(async (trx) => {
      batch.push(trx);
      return (await enqueueJob(trx, job('before'))).id;
    });
    const failing = committer.submit(async (trx) => {
      batch.push(trx);
      await enqueueJob(trx, job('failing'));
      throw boom;
    });
    const after = committer.submit(async (trx) => {
      batch.push(trx);
      return (await enqueueJob(trx, job('after'))).id;
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

    // The committer goes on after the failure.
    const later = await committer.submit((trx) => enqueueJob(trx, job('later')));
    expect(rows()).toHaveLength(3);
    expect(rows()[2]).toEqual({ id: later.id, label: 'later' });
  });
});
