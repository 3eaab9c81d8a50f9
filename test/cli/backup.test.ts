import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { isBackupFileName } from '../../src/tasks/backup.js';
import { enqueueJobs, generateJob } from '../queue/enqueue.js';
import { count, generate, inspectDb, runCli, startCli, startWorker, stopCli, succeeded, tempDb, waitFor } from '../helpers.js';
import { inspect } from '../inspect.js';
import { backupFiles, backupsWritten, checkSnapshot, tempDatabase } from './backup-helpers.js';

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

describe('backup', () => {
  it('writes a checked 0600 copy, records it, and lists it', async () => {
    const { dir, db: file } = tempDb();
    await generate(file, 50, '--wait');
    const run = await runCli(['backup', '--db', file, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { file: string; users: number; jobs: number; size_bytes: number };
    expect(path.dirname(result.file)).toBe(path.join(dir, 'backups'));
    expect(path.basename(result.file)).toSatisfy(isBackupFileName);
    expect(result).toMatchObject({ users: 50, jobs: 2, size_bytes: fs.statSync(result.file).size });
    expect(fs.statSync(result.file).mode & 0o777).toBe(0o600);
    expect(checkSnapshot(result.file).users).toBe(50);
    expect(fs.readdirSync(path.join(dir, 'backups'))).toEqual([path.basename(result.file)]);

    const listed = await runCli(['backups', '--db', file, '--json']);
    const { backups } = JSON.parse(listed.stdout) as { backups: Array<{ file: string; users: number; verified: boolean }> };
    expect(backups).toEqual([expect.objectContaining({ file: result.file, users: 50, verified: true })]);
    const human = await runCli(['backups', '--db', file]);
    expect(human.stdout).toContain(path.basename(result.file));
  });

  it('is a consistent snapshot while three workers drain 30 jobs', async () => {
    const { dir, db: file } = tempDb();
    await enqueueJobs(
      file,
      Array.from({ length: 30 }, (_, i) => generateJob(50 + i, 50_000)),
    );
    const workers = [1, 2, 3].map(() => startCli(['worker', '--db', file, '--concurrency', '2']));
    const db = await inspect(file);
    await waitFor(async () => (await succeeded(db)) >= 3, 'some jobs to succeed');
    const taken = await runCli(['backup', '--db', file, '--json']);
    expect(taken.code, taken.stderr).toBe(0);
    await waitFor(async () => (await succeeded(db)) === 31, 'every job to succeed', 60_000);
    await Promise.all(workers.map(stopCli));

    const { file: backup } = JSON.parse(taken.stdout) as { file: string };
    const { users } = checkSnapshot(backup);
    expect(users).toBeGreaterThan(0);
    expect(users).toBeLessThan(await db.count('select count(*) from users'));
    expect(backupFiles(path.join(dir, 'backups'))).toEqual([backup]);
  });

  it('never deletes anything but backup files in the folder on --keep', async () => {
    const { dir, db: file } = await tempDatabase();
    const backups = path.join(dir, 'backups');
    fs.mkdirSync(backups);
    const outside = path.join(dir, 'precious.db');
    fs.writeFileSync(outside, 'keep me');
    fs.symlinkSync(outside, path.join(backups, 'usergen-2000-01-01T00-00-00-000Z.db'));
    fs.writeFileSync(path.join(backups, 'notes.txt'), 'mine');
    for (let i = 0; i < 3; i++) expect((await runCli(['backup', '--db', file, '--keep', '2'])).code).toBe(0);

    expect(fs.readFileSync(outside, 'utf8')).toBe('keep me');
    expect(fs.readdirSync(backups).filter((name) => !isBackupFileName(name))).toEqual(['notes.txt']);
    expect(backupFiles(backups).filter((f) => !fs.lstatSync(f).isSymbolicLink())).toHaveLength(2);
  });
});

describe('restore', () => {
  it('brings back exactly the users of the backup, after backing up the current file', async () => {
    const { dir, db: file } = tempDb();
    await generate(file, 50, '--wait');
    const names = () => inspectDb(file).prepare('select username from users order by id').pluck().all();
    const before = names();
    const { stdout } = await runCli(['backup', '--db', file, '--json']);
    const { file: backup } = JSON.parse(stdout) as { file: string };
    await generate(file, 60, '--wait');
    expect(names()).toHaveLength(110);

    const run = await runCli(['restore', backup, '--yes', '--db', file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Current database backed up to');
    expect(names()).toEqual(before);
    // The 110-user state was saved first.
    const saved = backupFiles(path.join(dir, 'backups')).filter((f) => f !== backup);
    expect(saved.map((f) => checkSnapshot(f).users)).toEqual([110]);
  });

  it('refuses a text file, a missing file and a newer schema, leaving the database as it was', async () => {
    const { dir, db: file } = tempDb();
    await generate(file, 50, '--wait');
    const text = path.join(dir, 'notes.txt');
    fs.writeFileSync(text, 'not a database\n');
    const newer = path.join(dir, 'newer.db');
    fs.copyFileSync(file, newer);
    const newerDb = new BetterSqlite3(newer);
    newerDb.pragma('user_version = 99');
    newerDb.close();
    const hash = sha256(file);

    for (const bad of [text, path.join(dir, 'missing.db'), newer]) {
      const run = await runCli(['restore', bad, '--yes', '--db', file]);
      expect(run.code, bad).toBe(1);
      expect(run.stderr).toMatch(/^usergen: error: .+\n$/);
      expect(sha256(file)).toBe(hash);
    }
    expect(fs.existsSync(path.join(dir, 'backups'))).toBe(false);
    const noYes = await runCli(['restore', newer, '--db', file]);
    expect(noYes.code).toBe(2);
  });

  it('refuses while a worker is alive unless --force', async () => {
    const { db: file } = tempDb();
    await generate(file, 50, '--wait');
    const { stdout } = await runCli(['backup', '--db', file, '--json']);
    const { file: backup } = JSON.parse(stdout) as { file: string };
    const { worker } = await startWorker(file);
    const refused = await runCli(['restore', backup, '--yes', '--db', file]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('worker');
    const forced = await runCli(['restore', backup, '--yes', '--force', '--db', file]);
    expect(forced.code, forced.stderr).toBe(0);
    await stopCli(worker);
  });
});

describe('schedule backup', () => {
  it('--every 2s --keep 3 makes a catch-up and a backup per slot, keeping 3', async () => {
    const { dir, db: file } = tempDb();
    await generate(file, 50, '--wait');
    const scheduler = startCli(['schedule', 'backup', '--every', '2s', '--keep', '3', '--db', file]);
    await waitFor(() => backupsWritten(scheduler) >= 4, 'four backups', 20_000);
    await generate(file, 60, '--wait');
    // Not "a fifth backup": one may have started before the 60 users were in. Wait for one that has them.
    await waitFor(() => scheduler.stdout().includes(' 110 users, '), 'a backup of the 110 users', 20_000);
    await stopCli(scheduler);

    const files = backupFiles(path.join(dir, 'backups'));
    expect(files).toHaveLength(3);
    const users = files.map((f) => checkSnapshot(f).users);
    expect(users[users.length - 1]).toBe(110);
    expect(scheduler.stdout()).toContain('No backup yet: backing up now.');
    const db = inspectDb(file);
    expect(count(db, 'select count(*) from backups')).toBe(3);
    const written = backupsWritten(scheduler);
    expect(count(db, "select count(*) from jobs where task = 'backup' and state = 'succeeded'")).toBe(written);
    expect(scheduler.stdout().split('Deleted old backup ').length - 1).toBe(written - 3);
  });

  it('two schedulers on one file make one backup per slot, never two', async () => {
    const { dir, db: file } = await tempDatabase();
    const args = ['schedule', 'backup', '--every', '2s', '--db', file];
    const schedulers = [startCli(args), startCli(args)];
    await waitFor(() => schedulers.reduce((n, s) => n + backupsWritten(s), 0) >= 4, 'four backups', 20_000);
    await Promise.all(schedulers.map(stopCli));

    const db = inspectDb(file);
    const keys = db.prepare("select unique_key from jobs where task = 'backup' and state = 'succeeded'").pluck().all() as string[];
    // Every backup belongs to a slot, and no slot has two (catch-ups are keyed '<slot>/catch-up:<folder>').
    const catchUp = `/catch-up:${path.join(dir, 'backups')}`;
    expect(keys.every((key) => /^backup@\d{4}-[^/]+Z$/.test(key.endsWith(catchUp) ? key.slice(0, -catchUp.length) : key))).toBe(true);
    expect(count(db, 'select count(*) from backups')).toBe(keys.length);
    expect(backupFiles(path.join(dir, 'backups'))).toHaveLength(keys.length);
    expect(schedulers.reduce((n, s) => n + backupsWritten(s), 0)).toBe(keys.length);
    expect(schedulers.map((s) => s.stdout()).join('')).toContain("is already another scheduler's");
  });

  it('catches up once when the newest backup is older than the period, not when it is recent', async () => {
    const { dir, db: file } = await tempDatabase();
    expect((await runCli(['backup', '--db', file])).code).toBe(0);
    const args = ['schedule', 'backup', '--every', '1h', '--db', file];

    const recent = startCli(args);
    await waitFor(() => recent.stdout().includes('Next backup at'), 'the next backup time');
    await stopCli(recent);
    expect(backupsWritten(recent)).toBe(0);

    inspectDb(file).prepare('update backups set created_at = created_at - 2 * 3600 * 1000').run();
    const late = startCli(args);
    await waitFor(() => late.stdout().includes('Next backup at'), 'the next backup time');
    await stopCli(late);
    expect(late.stdout()).toContain('catching up now');
    expect(backupsWritten(late)).toBe(1);
    expect(backupFiles(path.join(dir, 'backups'))).toHaveLength(2);
  });

  it('--every 1h prints the next top of the hour and exits 0 on SIGTERM', async () => {
    const { db: file } = await tempDatabase();
    const nextTopOfHour = (ms: number) => (Math.floor(ms / 3_600_000) + 1) * 3_600_000;
    const before = Date.now();
    const scheduler = startCli(['schedule', 'backup', '--every', '1h', '--db', file]);
    const line = await waitFor(() => /Next backup at (.+) UTC\./.exec(scheduler.stdout()), 'the next backup time');
    const next = new Date(`${line[1]!.replace(' ', 'T')}Z`).getTime();
    // The hour may turn while the scheduler starts: either top of the hour is right.
    expect([nextTopOfHour(before), nextTopOfHour(Date.now())]).toContain(next);
    await stopCli(scheduler);
  });

  it.each([
    ['--every', '0s'],
    ['--every', '1x'],
    ['--every', 'banana'],
    ['--cron', 'not cron'],
  ])('refuses %s %s with exit 2 and schedules nothing', async (flag, value) => {
    const { db: file } = tempDb();
    const run = await runCli(['schedule', 'backup', flag, value, '--db', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^usergen: error: .+\n$/);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('refuses --keep 0 and a missing period with exit 2', async () => {
    const { db: file } = tempDb();
    for (const args of [['--every', '2s', '--keep', '0'], [], ['--every', '2s', '--cron', '* * * * *']]) {
      const run = await runCli(['schedule', 'backup', ...args, '--db', file]);
      expect(run.code, args.join(' ')).toBe(2);
    }
    expect(fs.existsSync(file)).toBe(false);
  });
});
