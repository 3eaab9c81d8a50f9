import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { describe, expect, it } from 'vitest';
import { APPLICATION_ID } from '../../src/store/sqlite/migrate.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations/index.js';
import { count, inspectDb, runCli, tempDb } from '../helpers.js';

const NAMES = Object.keys(MIGRATIONS);

/** A usergen file as the version with only the first `version` migrations made it: one job, one user once there are users. */
async function oldFile(file: string, version: number): Promise<void> {
  const sqlite = new BetterSqlite3(file);
  // biome-ignore lint/suspicious/noExplicitAny: an old schema, which today's types do not describe.
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: sqlite }) });
  try {
    const first = Object.fromEntries(NAMES.slice(0, version).map((name) => [name, MIGRATIONS[name]!]));
    const { error } = await new Migrator({ db, provider: { getMigrations: async () => first } }).migrateToLatest();
    if (error) throw error;
    sqlite.pragma(`application_id = ${APPLICATION_ID}`);
    sqlite.pragma(`user_version = ${version}`);
    sqlite
      .prepare(
        `insert into jobs (task, payload, state, priority, run_at, attempts, max_attempts, result, created_at, started_at, finished_at)
         values ('generate_users', '{"total":50,"iterations":1000}', 'succeeded', 0, 1000, 1, 3, '"50 random users created with success!"', 1000, 1100, 1200)`,
      )
      .run();
    if (version >= 2) {
      sqlite
        .prepare(
          `insert into users (username, email, first_name, last_name, password, date_joined, job_id)
           values ('user_oldschemaa', 'user_oldschemaa@example.com', 'Old', 'Schema', 'pbkdf2_sha256$1000$salt$hash', '2020-01-01T00:00:00.000Z', 1)`,
        )
        .run();
    }
  } finally {
    await db.destroy();
  }
}

/** The schema of a file: every table and index as SQLite stores it, and the migrations on record. */
function schemaOf(file: string) {
  const db = inspectDb(file);
  return {
    version: db.pragma('user_version', { simple: true }),
    applicationId: db.pragma('application_id', { simple: true }),
    objects: db.prepare("select type, name, sql from sqlite_master where name not like 'sqlite_%' order by type, name").all(),
    migrations: db.prepare('select name from kysely_migration order by name').pluck().all(),
  };
}

describe('a file of an older schema', () => {
  it.each(NAMES.slice(0, -1).map((_, i) => i + 1))('at version %i is migrated by the next command that opens it, its data kept', async (version) => {
    const { dir, db: file } = tempDb();
    await oldFile(file, version);
    const old = new BetterSqlite3(file, { readonly: true });
    expect(old.pragma('user_version', { simple: true })).toBe(version);
    old.close();

    const run = await runCli(['jobs', '--json', '--db', file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('generate_users');

    // The same schema as a file this version makes new.
    const fresh = path.join(dir, 'fresh.db');
    expect((await runCli(['generate', '50', '--db', fresh])).code).toBe(0);
    expect(schemaOf(file)).toEqual(schemaOf(fresh));
    expect(schemaOf(file).version).toBe(NAMES.length);

    const db = inspectDb(file);
    expect(db.prepare('select task, state, result, created_at, finished_at from jobs where id = 1').get()).toEqual({
      task: 'generate_users',
      state: 'succeeded',
      result: '"50 random users created with success!"',
      created_at: 1000,
      finished_at: 1200,
    });
    expect(count(db, 'select count(*) from users where username = ? and job_id = 1', 'user_oldschemaa')).toBe(version >= 2 ? 1 : 0);

    // And it works: a job enqueued and run on it.
    expect((await runCli(['generate', '50', '--db', file])).code).toBe(0);
    const drain = await runCli(['worker', '--db', file, '--drain', '--concurrency', '1']);
    expect(drain.code, drain.stderr).toBe(0);
    expect(count(db, "select count(*) from jobs where state = 'succeeded'")).toBe(2);
    expect(count(db, 'select count(*) from users')).toBe(version >= 2 ? 51 : 50);
  });

  it('whose newest jobs were purged does not give their ids again once migrated', async () => {
    const { db: file } = tempDb();
    await oldFile(file, 6);
    const old = new BetterSqlite3(file);
    const insert = old.prepare(`insert into jobs (task, payload, state, run_at, max_attempts, created_at, finished_at)
      values ('generate_users', '{"total":1}', 'succeeded', 1000, 3, 1000, 1200)`);
    insert.run();
    insert.run();
    old.prepare('delete from jobs where id > 1').run();
    old.close();

    const run = await runCli(['generate', '50', '--db', file]);
    expect(run.code, run.stderr).toBe(0);
    expect(inspectDb(file).prepare('select id from jobs order by id').pluck().all()).toEqual([1, 4]);
  });
});
