import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { count, inspectDb, runCli, startCli, tempDb } from '../helpers.js';

/** Everything in the folder, with each file's hash: what "left byte-for-byte unchanged" compares. */
function snapshotFolder(dir: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, name);
    entries[name] = fs.statSync(file).isDirectory()
      ? `dir:${fs.readdirSync(file).join(',')}`
      : createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  }
  return entries;
}

async function usergenDatabase(file: string): Promise<void> {
  expect((await runCli(['generate', '50', '--db', file])).code).toBe(0);
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
    [
      'a read-only usergen database',
      async (file: string) => {
        await usergenDatabase(file);
        fs.chmodSync(file, 0o444);
      },
      /read-only/,
    ],
    [
      'a database from a newer usergen',
      async (file: string) => {
        await usergenDatabase(file);
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
  });
});

describe('a new database file', () => {
  it('three processes opening it at once create one schema, mode 0600', async () => {
    const { db: file } = tempDb();
    const runs = await Promise.all([1, 2, 3].map(() => startCli(['list', '--db', file]).exited));
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toBe('');
    }
    const db = inspectDb(file);
    const tables = db.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name").pluck().all();
    expect(tables).toEqual(['backups', 'jobs', 'kysely_migration', 'kysely_migration_lock', 'users', 'workers']);
    expect(count(db, 'select count(*) from kysely_migration')).toBe(3);
    expect(db.pragma('user_version', { simple: true })).toBe(3);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });
});
