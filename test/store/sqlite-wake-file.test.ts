import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.js';
import { wakeFileOf } from '../../src/store/sqlite/wake.js';
import { tempDb, waitFor } from '../helpers.js';

let store: SqliteStore | undefined;

afterEach(async () => {
  await store?.close();
  if (store) fs.rmSync(wakeFileOf(store.location), { force: true });
});

describe('the wake file', () => {
  it('is touched by enqueueMany when its jobs fell due while it committed', async () => {
    store = await openSqliteStore(tempDb().db);
    const wake = wakeFileOf(store.location);
    fs.rmSync(wake, { force: true });
    const specs = Array.from({ length: 20_000 }, () => ({ task: 'noop', payload: {}, maxAttempts: 1, delayMs: 1 }));
    const before = Date.now();
    await store.enqueueMany(specs);
    // The commit of 20,000 rows outlasts their 1 ms delay: they are ready, and idle workers must hear of it.
    expect(Date.now() - before).toBeGreaterThan(1);
    // At full durability the touch is made on libuv's thread pool, once the commit is done.
    await waitFor(() => fs.existsSync(wake), 'the wake file');
  });

  it('is not touched by enqueueMany of jobs that are not due yet', async () => {
    // At normal durability the touch is made before enqueueMany returns: none by then is none at all.
    store = await openSqliteStore(tempDb().db, { durability: 'normal' });
    const wake = wakeFileOf(store.location);
    fs.rmSync(wake, { force: true });
    await store.enqueueMany([{ task: 'noop', payload: {}, maxAttempts: 1, delayMs: 60_000 }]);
    expect(fs.existsSync(wake)).toBe(false);
  });
});
