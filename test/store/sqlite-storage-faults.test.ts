import fs from 'node:fs';
import path from 'node:path';
import { type Kysely, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { describeStorageError } from '../../src/store/sqlite/faults.js';
import { openStore } from '../../src/store/open.js';
import type { Database, NewUser } from '../../src/store/schema.js';
import { insertUsers } from '../../src/tasks/users.js';
import { defineTask } from '../../src/index.js';
import { Worker } from '../../src/queue/worker.js';
import { damagePages, remount, smallDisk } from '../faults.js';
import { tempDb } from '../helpers.js';

// Storage faults met by the library on real files: SQLITE_FULL from a file that cannot grow
// (max_page_count: SQLite's own full-disk path, rolled back by SQLite itself) and SQLITE_CORRUPT
// from pages overwritten on disk.

function users(prefix: string, total: number): NewUser[] {
  return Array.from({ length: total }, (_, i) => ({
    username: `${prefix}_${i}_${'x'.repeat(100)}`,
    email: `${prefix}_${i}@example.com`,
    first_name: 'Test',
    last_name: 'User',
    password: `pbkdf2_sha256$1000$salt$${'h'.repeat(44)}`,
    is_superuser: 0,
    is_staff: 0,
    is_active: 1,
    last_login: null,
    date_joined: new Date().toISOString(),
    job_id: null,
  }));
}

/** The file may grow by `pages` more pages on this connection, then writes fail with SQLITE_FULL. */
async function capGrowth(db: Kysely<Database>, pages: number): Promise<void> {
  const { rows } = await sql<{ page_count: number }>`pragma page_count`.execute(db);
  await sql.raw(`pragma max_page_count = ${rows[0]!.page_count + pages}`).execute(db);
}

const fillUsers = defineTask({
  name: 'test_fill_users',
  maxAttempts: 1,
  validate: (payload) => payload as { total: number },
  async handler({ total }, context) {
    return context.complete(async (trx) => {
      // Row by row: a failing multi-row INSERT is undone by a statement journal and leaves the
      // transaction open; a single-row one makes SQLite roll the whole transaction back itself,
      // as a full disk does.
      for (const user of users(`job${context.jobId}`, total)) await insertUsers(trx, [user]);
      return `${total} users`;
    });
  },
});

const scanUsers = defineTask({
  name: 'test_scan_users',
  validate: (payload) => payload,
  async handler(_payload, context) {
    return context.complete(async (trx) => {
      const { rows } = await sql<{ bytes: number }>`select sum(length(password)) as bytes from users`.execute(trx);
      return rows[0]!.bytes;
    });
  },
});

const TEST_TASKS = [fillUsers, scanUsers];

describe('a full disk', () => {
  it("fails a transaction with SQLite's own error, not a failed ROLLBACK", async () => {
    const store = await openStore(tempDb().db);
    const db = store.db;
    try {
      await capGrowth(db, 2);
      const filling = db.transaction().execute(async (trx) => {
        for (const user of users('full', 200)) await insertUsers(trx, [user]);
      });
      await expect(filling).rejects.toMatchObject({ code: 'SQLITE_FULL', message: 'database or disk is full' });
    } finally {
      await store.close();
    }
  });

  it('keeps "database or disk is full" as the error of the job whose writes filled it', async () => {
    const store = await openStore(tempDb().db);
    const db = store.db;
    try {
      const job = await store.enqueue({ task: fillUsers.name, payload: { total: 200 }, maxAttempts: 1 });
      await capGrowth(db, 2);
      await new Worker(store, { tasks: TEST_TASKS, concurrency: 1, drain: true, register: false }).run();

      const after = await store.getJob(job.id);
      expect(after).toMatchObject({ state: 'failed', attempts: 1 });
      expect(JSON.parse(after!.error!)).toMatchObject({ message: 'database or disk is full' });
    } finally {
      await store.close();
    }
  });
});

describe('a damaged file', () => {
  it('met by a job mid-run: the worker stops claiming and rejects, and the job is not failed', async () => {
    const { db: file } = tempDb();
    const setup = await openStore(file);
    await setup.db.transaction().execute((trx) => insertUsers(trx, users('old', 2000)));
    await setup.close();
    damagePages(file, 'users');

    const store = await openStore(file);
    try {
      const first = await store.enqueue({ task: scanUsers.name, payload: {}, maxAttempts: 3 });
      const second = await store.enqueue({ task: scanUsers.name, payload: {}, maxAttempts: 3 });
      const run = new Worker(store, { tasks: TEST_TASKS, concurrency: 1, drain: true, register: false }).run();

      await expect(run).rejects.toMatchObject({
        name: 'StorageError',
        fault: 'damaged',
        message: expect.stringMatching(
          new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is damaged: .*; restore a backup \\(usergen backups\\)$`),
        ),
      });
      expect(await store.getJob(first.id)).toMatchObject({ state: 'running', attempts: 1, error: null });
      expect(await store.getJob(second.id)).toMatchObject({ state: 'queued', attempts: 0 });
    } finally {
      await store.close();
    }
  });
});

describe('a fault of another file', () => {
  it("is not reported as the database's", () => {
    const { dir, db: file } = smallDisk(1024);
    fs.writeFileSync(file, '');
    remount(dir, 'ro');
    let thrown: unknown;
    try {
      fs.writeFileSync(path.join(dir, 'worker.log'), 'x');
    } catch (error) {
      thrown = error;
    }
    remount(dir, 'rw');
    expect(thrown).toMatchObject({ code: 'EROFS' });
    expect(describeStorageError(thrown, file)).toBe(thrown);
  });
});
