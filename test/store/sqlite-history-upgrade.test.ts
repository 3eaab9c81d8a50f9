import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import type { HistoryEntry } from '../../src/store/schema.js';
import type { JobStore } from '../../src/store/store.js';
import { tempDb } from '../helpers.js';

// The SQLite file's migration of job history from schema version 3, as that version wrote it.
// (A PostgreSQL schema began after history took its present form: it has no such step.)

let store: JobStore | undefined;

afterEach(async () => {
  await store?.close();
  store = undefined;
});

const error = (message: string) => JSON.stringify({ name: 'Error', message, stack: `Error: ${message}\n    at here` });

async function historyOf(id: number): Promise<HistoryEntry[]> {
  return JSON.parse((await store!.getJob(id))!.history ?? '[]') as HistoryEntry[];
}

describe('upgrading a database whose history was written by an earlier version', () => {
  it('turns each retry entry into the failure and the retry, and records the last failure of failed and waiting jobs', async () => {
    const file = tempDb().db;
    store = await openStore(file);
    const retried = await store.enqueue({ task: 'noop', payload: {}, maxAttempts: 3 });
    const failed = await store.enqueue({ task: 'noop', payload: {}, maxAttempts: 3 });
    await store.close();
    store = undefined;

    // Back to schema version 3, with rows as that version wrote them.
    const sqlite = new BetterSqlite3(file);
    const old = [{ state: 'failed', attempts: 3, error: { name: 'Error', message: 'old failure' }, finished_at: 1_000, retried_at: 2_000 }];
    sqlite.prepare('update jobs set history = ? where id = ?').run(JSON.stringify(old), retried.id);
    sqlite
      .prepare(`update jobs set state = 'failed', attempts = 3, error = ?, finished_at = 5_000 where id = ?`)
      .run(error('last failure'), failed.id);
    for (const column of ['boot_id', 'pid_namespace', 'start_ticks', 'tasks']) sqlite.exec(`alter table workers drop column ${column}`);
    sqlite.exec(
      `drop table job_id_floor; drop table schedules; drop table task_settings; drop table queue_settings; drop table spent_unique_keys; drop table task_starts; delete from kysely_migration where name >= '0004'; pragma user_version = 3`,
    );
    sqlite.close();

    store = await openStore(file);
    expect(await historyOf(retried.id)).toEqual([
      { at: 1_000, attempt: 3, state: 'failed', error: { name: 'Error', message: 'old failure' } },
      { at: 2_000, attempt: 3, state: 'queued', retried_from: 'failed' },
    ]);
    expect(await historyOf(failed.id)).toEqual([
      {
        at: 5_000,
        attempt: 3,
        state: 'failed',
        retry_at: null,
        error: { name: 'Error', message: 'last failure', stack: 'Error: last failure\n    at here' },
      },
    ]);
  });
});
