import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { defineTask } from '../../src/index.js';
import { Worker } from '../../src/queue/worker.js';
import { openStore } from '../../src/store/open.js';
import { ENGINES } from '../engines.js';
import { tempDb } from '../helpers.js';

// A storage fault that is a task's own, not the queue's: the job fails like any error, and the
// worker goes on. (The faults of the queue's own SQLite file are in test/store/sqlite-storage-faults.test.ts.)

/** Reads a SQLite file of its own (an upload, say): its faults are the job's, not the queue's. */
const readOwnFile = defineTask({
  name: 'test_read_own_file',
  maxAttempts: 1,
  validate: (payload) => payload as { file: string },
  async handler({ file }) {
    const own = new BetterSqlite3(file, { readonly: true });
    try {
      return own.prepare('select count(*) from sqlite_master').pluck().get();
    } finally {
      own.close();
    }
  },
});

describe.each(ENGINES)('a fault of another file, on $name', (engine) => {
  it('met by a task in a file of its own fails that job like any error; the worker goes on', async () => {
    const { dir } = tempDb();
    const upload = path.join(dir, 'upload.db');
    fs.writeFileSync(upload, 'SQLite format 3\0'.padEnd(4096, 'x'));
    const sound = path.join(dir, 'sound.db');
    new BetterSqlite3(sound).exec('create table uploads (name text)').close();
    const store = await openStore(await engine.database());
    try {
      const bad = await store.enqueue({ task: readOwnFile.name, payload: { file: upload }, maxAttempts: 1 });
      const next = await store.enqueue({ task: readOwnFile.name, payload: { file: sound }, maxAttempts: 1 });
      await new Worker(store, { tasks: [readOwnFile], concurrency: 1, drain: true, register: false }).run();

      expect(await store.getJob(bad.id)).toMatchObject({ state: 'failed' });
      expect(await store.getJob(next.id)).toMatchObject({ state: 'succeeded' });
    } finally {
      await store.close();
    }
  });
});
