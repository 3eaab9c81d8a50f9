import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runCli, startCli, stopCli, tempDb, waitFor, type CliOptions, type CliResult } from '../helpers.js';
import { tempPgDatabase } from '../postgres.js';

// Backups of a PostgreSQL database: pg_dump archives written, listed, checked and restored by the
// built CLI, on the test server. Every command's output is searched for the URL's password.

interface Database {
  url: string;
  password: string;
  /** The test's folder: the commands run there, so the default backup folder is its backups/. */
  dir: string;
  /** Runs the CLI on the database in the test's folder; its output must not hold the password. */
  cli(args: string[], options?: CliOptions): Promise<CliResult>;
  query<R extends object>(text: string, values?: unknown[]): Promise<R[]>;
}

async function pgDatabase(): Promise<Database> {
  const url = await tempPgDatabase();
  const { dir } = tempDb();
  const password = decodeURIComponent(new URL(url).password);
  expect(password.length).toBeGreaterThan(3);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  onTestFinished(() => client.end());
  return {
    url,
    password,
    dir,
    async cli(args, options = {}) {
      const run = await runCli([...args, '--db', url], { cwd: dir, ...options });
      expect(run.stdout + run.stderr).not.toContain(password);
      return run;
    },
    async query(text, values) {
      return (await client.query(text, values)).rows;
    },
  };
}

async function ok(db: Database, ...args: string[]): Promise<string> {
  const run = await db.cli(args);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout;
}

interface BackupJson {
  file: string;
  users: number;
  jobs: number;
  size_bytes: number;
}

async function backUp(db: Database, ...args: string[]): Promise<BackupJson> {
  return JSON.parse(await ok(db, 'backup', '--json', ...args)) as BackupJson;
}

async function usernames(db: Database, schema = 'usergen'): Promise<string[]> {
  return (await db.query<{ username: string }>(`select username from ${schema}.users order by id`)).map((row) => row.username);
}

function dumps(dir: string): string[] {
  return fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((name) => /^usergen-.*Z\.dump$/.test(name))
        .sort()
    : [];
}

/** A folder holding only a `pg_dump` that records its command line and whether it was given a password, then runs the real one. */
function recordingPgDump(dir: string): { bin: string; log: string } {
  const bin = path.join(dir, 'bin');
  const log = path.join(dir, 'pg_dump.log');
  fs.mkdirSync(bin);
  const real = spawnSync('sh', ['-c', 'command -v pg_dump'], { encoding: 'utf8' }).stdout.trim();
  fs.writeFileSync(
    path.join(bin, 'pg_dump'),
    `#!/bin/sh\nprintf 'args: %s\\n' "$*" >> '${log}'\n[ -n "$PGPASSWORD" ] && echo 'PGPASSWORD set' >> '${log}'\nexec '${real}' "$@"\n`,
    { mode: 0o755 },
  );
  return { bin, log };
}

describe('backups of a PostgreSQL database', () => {
  it('backup writes a 0600 .dump in ./backups that pg_restore --list accepts, records it, and backups lists it', async () => {
    const db = await pgDatabase();
    await ok(db, 'generate', '50', '--wait');
    const { bin, log } = recordingPgDump(db.dir);
    const run = await db.cli(['backup', '--json'], { env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as BackupJson;

    expect(path.dirname(result.file)).toBe(path.join(db.dir, 'backups'));
    expect(path.basename(result.file)).toMatch(/^usergen-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.dump$/);
    expect(result).toMatchObject({ users: 50, jobs: 2, size_bytes: fs.statSync(result.file).size });
    expect(fs.statSync(result.file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.dirname(result.file))).toEqual([path.basename(result.file)]);
    const list = spawnSync('pg_restore', ['--list', result.file], { encoding: 'utf8' });
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/TABLE DATA usergen users /);
    expect(list.stdout).not.toMatch(/ public /);

    // The password went in pg_dump's environment; its command line has none, and names the schema.
    const calls = fs.readFileSync(log, 'utf8');
    expect(calls).toContain('PGPASSWORD set');
    expect(calls).toContain('--schema=usergen');
    expect(calls).not.toContain(db.password);
    expect(calls).not.toContain(encodeURIComponent(db.password));

    const listed = JSON.parse(await ok(db, 'backups', '--json')) as {
      dir: string;
      backups: Array<{ file: string; users: number; verified: boolean }>;
    };
    expect(listed.dir).toBe(path.join(db.dir, 'backups'));
    expect(listed.backups).toEqual([expect.objectContaining({ file: result.file, users: 50, verified: true })]);
    expect(await ok(db, 'backups')).toContain(path.basename(result.file));
    expect(await ok(db, 'backup', '--help')).toContain('for a PostgreSQL database, ./backups');
    expect(await ok(db, 'check')).toMatch(/^postgres:\/\/postgres:\*\*\*@.* \(schema usergen\) is sound: every table read through in [\d,]+ ms\.\n$/);
  });

  it("restore brings back the users and jobs of the backup, after a safety dump; the backup's own job is not run again", async () => {
    const db = await pgDatabase();
    await ok(db, 'generate', '50', '--wait');
    const backup = await backUp(db);
    const [own] = await db.query<{ id: string }>("select id from usergen.jobs where task = 'backup'");
    const users = await usernames(db);
    const jobs = await db.query<{ id: string; task: string }>('select id, task from usergen.jobs order by id');
    await ok(db, 'generate', '60', '--wait');
    expect(await usernames(db)).toHaveLength(110);

    const restored = await ok(db, 'restore', path.basename(backup.file), '--yes');
    expect(restored).toMatch(/^Current database backed up to .*\.dump \(.*, 110 users, /m);
    expect(restored).toMatch(new RegExp(`^Restored ${backup.file} into postgres://postgres:\\*\\*\\*@.*: 50 users\\.$`, 'm'));
    expect(await usernames(db)).toEqual(users);
    const after = await db.query<{ id: string; task: string; state: string }>('select id, task, state from usergen.jobs order by id');
    expect(after.map(({ id, task }) => ({ id, task }))).toEqual(jobs);
    // Running when the dump was taken; succeeded in the restored queue.
    expect(after.find((job) => job.id === own!.id)).toMatchObject({ task: 'backup', state: 'succeeded' });
    expect(await db.query('select * from usergen.backups_in_progress')).toEqual([]);

    // Both dumps on record and on disk: the backup and the safety copy of the 110 users.
    const folder = path.join(db.dir, 'backups');
    expect(dumps(folder)).toHaveLength(2);
    const listed = JSON.parse(await ok(db, 'backups', '--json')) as { backups: Array<{ users: number; recorded: boolean }> };
    expect(listed.backups.map((entry) => [entry.users, entry.recorded])).toEqual([
      [110, true],
      [50, true],
    ]);

    // A worker finds nothing to do: no backup is made again.
    await ok(db, 'worker', '--drain');
    expect(dumps(folder)).toHaveLength(2);
    expect(await db.query("select id from usergen.jobs where state <> 'succeeded'")).toEqual([]);
    expect(await ok(db, 'check')).toContain('is sound');
  });

  it('restore is refused while a worker runs, and changes nothing', async () => {
    const db = await pgDatabase();
    await ok(db, 'generate', '50', '--wait');
    const backup = await backUp(db);
    await ok(db, 'generate', '60', '--wait');
    const worker = startCli(['worker', '--db', db.url], { cwd: db.dir });
    await waitFor(async () => (await db.query('select id from usergen.workers')).length === 1, 'the worker to register');

    const refused = await db.cli(['restore', backup.file, '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^usergen: error: 1 worker\(s\) are running on postgres:\/\/postgres:\*\*\*@\S+: stop them first, or pass --force\n$/,
    );
    expect(refused.stdout).toBe('');
    expect(await usernames(db)).toHaveLength(110);
    expect(dumps(path.join(db.dir, 'backups'))).toEqual([path.basename(backup.file)]);
    const exit = await stopCli(worker);
    expect(exit.stdout + exit.stderr).not.toContain(db.password);
  });

  it('restore of a damaged schema keeps it under another name, then restores', async () => {
    const db = await pgDatabase();
    await ok(db, 'generate', '50', '--wait');
    const backup = await backUp(db);
    const users = await usernames(db);
    await db.query('drop table usergen.users');
    expect((await db.cli(['check'])).code).toBe(1);

    const restored = await ok(db, 'restore', backup.file, '--yes');
    const aside = /renamed it to (usergen_damaged_\d+),/.exec(restored)?.[1];
    expect(aside, restored).toBeDefined();
    expect(restored).not.toContain('Current database backed up to');
    expect(await db.query<{ tablename: string }>('select tablename from pg_tables where schemaname = $1 order by tablename', [aside])).toEqual(
      [
        'backups',
        'backups_in_progress',
        'job_waiters',
        'jobs',
        'queue_settings',
        'schedules',
        'spent_unique_keys',
        'task_settings',
        'task_starts',
        'usergen_schema',
        'workers',
      ].map((tablename) => ({ tablename })),
    );
    expect(await usernames(db)).toEqual(users);
    expect(await ok(db, 'check')).toContain('is sound');
  });

  it('restore fails whole when the schema holds a table the archive does not: nothing is changed', async () => {
    const db = await pgDatabase();
    await ok(db, 'generate', '50', '--wait');
    const backup = await backUp(db);
    await ok(db, 'generate', '60', '--wait');
    await db.query('create table usergen.notes (note text)');

    const failed = await db.cli(['restore', backup.file, '--yes']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      new RegExp(
        `^usergen: error: cannot restore ${backup.file} into schema usergen of postgres://postgres:\\*\\*\\*@\\S+: pg_restore failed \\(exit 1\\): .*cannot drop schema usergen because other objects depend on it.*\n$`,
      ),
    );
    expect(await usernames(db)).toHaveLength(110);
    expect(await db.query('select * from usergen.notes')).toEqual([]);
  });

  it('restore refuses an archive of another schema, and an SQLite backup, naming why', async () => {
    const db = await pgDatabase();
    await ok(db, 'generate', '50', '--wait', '--pg-schema', 'other');
    const other = await backUp(db, '--pg-schema', 'other');
    await ok(db, 'generate', '50', '--wait');
    const refused = await db.cli(['restore', other.file, '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`usergen: error: ${other.file} is a dump of schema other, not usergen: restore it with --pg-schema other\n`);
    const truncated = path.join(db.dir, 'truncated.dump');
    fs.writeFileSync(truncated, fs.readFileSync(other.file).subarray(0, Math.floor(fs.statSync(other.file).size / 2)));
    const cut = await db.cli(['restore', truncated, '--yes', '--pg-schema', 'other']);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(new RegExp(`^usergen: error: ${truncated} is not a usable pg_dump archive: pg_restore failed \\(exit 1\\): .+\n$`));

    const sqlite = path.join(db.dir, 'usergen.db');
    expect((await runCli(['generate', '50', '--wait', '--db', sqlite])).code).toBe(0);
    const sqliteBackup = await runCli(['backup', '--json', '--db', sqlite]);
    const { file } = JSON.parse(sqliteBackup.stdout) as BackupJson;
    const wrongWay = await db.cli(['restore', file, '--yes']);
    expect(wrongWay.code).toBe(1);
    expect(wrongWay.stderr).toMatch(
      /^usergen: error: .* is an SQLite copy of a usergen database \(usergen-<time>\.db\): a PostgreSQL database is restored from pg_dump archives \(usergen-<time>\.dump\) only\n$/,
    );
    const ontoSqlite = await runCli(['restore', other.file, '--yes', '--db', sqlite]);
    expect(ontoSqlite.code).toBe(1);
    expect(ontoSqlite.stderr).toMatch(
      /^usergen: error: .* is a pg_dump archive of a PostgreSQL database \(usergen-<time>\.dump\): an SQLite file is restored from SQLite copies \(usergen-<time>\.db\) only\n$/,
    );
    expect(await usernames(db)).toHaveLength(50);
  });

  it('schedule backup --every 2s makes one dump per slot with two schedulers, and prints the URL without its password', async () => {
    const db = await pgDatabase();
    await ok(db, 'generate', '50', '--wait');
    const args = ['schedule', 'backup', '--every', '2s', '--db', db.url];
    const schedulers = [startCli(args, { cwd: db.dir }), startCli(args, { cwd: db.dir })];
    const written = () => schedulers.reduce((n, s) => n + s.stdout().split('Backup written: ').length - 1, 0);
    await waitFor(() => written() >= 4, 'four backups', 30_000);
    const exits = await Promise.all(schedulers.map(stopCli));
    for (const exit of exits) {
      expect(exit.stdout + exit.stderr).not.toContain(db.password);
      expect(exit.stdout).toMatch(/^Backing up postgres:\/\/postgres:\*\*\*@\S+ every 2s into /);
    }

    const keys = (await db.query<{ unique_key: string }>("select unique_key from usergen.jobs where task = 'backup' and state = 'succeeded'")).map(
      (row) => row.unique_key,
    );
    const slots = keys.map((key) => key.replace(/\/catch-up:.*$/, ''));
    expect(new Set(keys).size).toBe(keys.length);
    expect(slots.every((slot) => /^backup@\d{4}-[^/]+Z$/.test(slot))).toBe(true);
    expect(dumps(path.join(db.dir, 'backups'))).toHaveLength(keys.length);
    expect(written()).toBe(keys.length);
    expect(await db.query('select id from usergen.backups')).toHaveLength(keys.length);
  });

  it('without pg_dump or pg_restore on PATH: one line naming the program and how to install it, exit 1', async () => {
    const db = await pgDatabase();
    await ok(db, 'generate', '50', '--wait');
    const backup = await backUp(db);
    const nothing = path.join(db.dir, 'empty');
    fs.mkdirSync(nothing);
    const env = { PATH: nothing };

    const noDump = await db.cli(['backup'], { env });
    expect(noDump.code).toBe(1);
    expect(noDump.stderr).toMatch(
      /^usergen: error: backup job \d+ failed: pg_dump is not on PATH: .*\(install it with: apt-get install postgresql-client-15\)\n$/,
    );
    // Failed at once: another attempt would not find it either.
    const [failed] = await db.query<{ attempts: number; state: string }>(
      "select attempts, state from usergen.jobs where task = 'backup' order by id desc limit 1",
    );
    expect(failed).toEqual({ attempts: 1, state: 'failed' });

    const noRestore = await db.cli(['restore', backup.file, '--yes'], { env });
    expect(noRestore.code).toBe(1);
    expect(noRestore.stderr).toMatch(/^usergen: error: pg_restore is not on PATH: .*\(install it with: apt-get install postgresql-client-15\)\n$/);
    expect(dumps(path.join(db.dir, 'backups'))).toEqual([path.basename(backup.file)]);
  });
});
