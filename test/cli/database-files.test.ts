import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/sqlite/migrations/index.js';
import { generate, inspectDb, ROOT, runCli, startCli, tempDb } from '../helpers.js';

/**
 * Everything in the folder, with each file's hash: what "left byte-for-byte unchanged" compares.
 * A -shm file is SQLite's shared-memory index, rewritten by any reader: only its presence counts.
 */
function snapshotFolder(dir: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, name);
    if (fs.statSync(file).isDirectory()) entries[name] = `dir:${fs.readdirSync(file).join(',')}`;
    else if (name.endsWith('-shm')) entries[name] = 'present';
    else entries[name] = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  }
  return entries;
}

/** Another application killed mid-session: its last commit is in the -wal file, not yet in the database. */
function crashedApplicationDatabase(file: string): void {
  const script = `
    const db = new (require('better-sqlite3'))(process.argv[1]);
    db.pragma('journal_mode = WAL');
    db.exec("create table notes (body text); insert into notes values ('mine')");
    process.kill(process.pid, 'SIGKILL');`;
  expect(spawnSync(process.execPath, ['-e', script, file], { cwd: ROOT }).signal).toBe('SIGKILL');
  expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(0);
}

describe('database files that are not usable', () => {
  it.each([
    ['a text file', (file: string) => fs.writeFileSync(file, 'hello, not a database\n'), /not a usergen database/],
    ['a directory', (file: string) => fs.mkdirSync(file), /is a directory/],
    [
      "another application's SQLite database",
      (file: string) => {
        const other = new BetterSqlite3(file);
        other.exec("create table notes (body text); insert into notes values ('mine')");
        other.close();
      },
      /another application/,
    ],
    ["another application's SQLite database, its WAL left by a crash", crashedApplicationDatabase, /another application/],
    [
      'a read-only usergen database',
      async (file: string) => {
        await generate(file, 50);
        fs.chmodSync(file, 0o444);
      },
      /read-only/,
    ],
    [
      'a database from a newer usergen',
      async (file: string) => {
        await generate(file, 50);
        const db = new BetterSqlite3(file);
        db.pragma('user_version = 99');
        db.close();
      },
      /newer usergen/,
    ],
  ])('%s: exit 1, one clear line, nothing changed', async (_name, make, message) => {
    const { dir, db: file } = tempDb();
    await make(file);
    const before = snapshotFolder(dir);
    const run = await runCli(['generate', '100', '--db', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^usergen: error: [^\n]+\n$/);
    expect(run.stderr).toMatch(message);
    expect(snapshotFolder(dir)).toEqual(before);

    // A worker refused the same file creates nothing either, not even its log file.
    const worker = await runCli(['worker', '--drain', '--logfile', path.join(dir, 'worker.log'), '--db', file]);
    expect(worker.code).toBe(1);
    expect(snapshotFolder(dir)).toEqual(before);
  });
});

describe('a new database file', () => {
  it('three processes opening it at once create one schema, mode 0600', async () => {
    const { db: file } = tempDb();
    const runs = await Promise.all([1, 2, 3].map(() => startCli(['worker', '--drain', '--loglevel', 'error', '--db', file]).exited));
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toBe('');
    }
    const db = inspectDb(file);
    const tables = db.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name").pluck().all();
    expect(tables).toEqual([
      'backups',
      'job_id_floor',
      'jobs',
      'kysely_migration',
      'kysely_migration_lock',
      'queue_settings',
      'schedules',
      'spent_unique_keys',
      'task_settings',
      'task_starts',
      'users',
      'workers',
    ]);
    expect(db.prepare('select name from kysely_migration order by name').pluck().all()).toEqual(Object.keys(MIGRATIONS));
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });
});
