import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostTag } from '../../src/store/sqlite/backup.js';
import { count, generate, inspectDb, runCli, startCli, tempDb, waitFor } from '../helpers.js';
import { backupFiles } from './backup-helpers.js';

/** The pid of a process that has exited: nothing runs under it any more. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

/** A snapshot's temporary name: `tag` says which host (boot and pid namespace) `pid` belongs to. */
const temporaryName = (time: string, pid: number, tag = hostTag()) => `.usergen-${time}.db.${tag}-${pid}.tmp`;
/** The name before the host tag: `.usergen-<time>.db.<pid>.tmp`. */
const untaggedName = (time: string, pid: number) => `.usergen-${time}.db.${pid}.tmp`;
const DAY_MS = 24 * 3600 * 1000;
const temporaryFiles = (dir: string) => fs.readdirSync(dir).filter((name) => name.endsWith('.tmp') || name.endsWith('.tmp-journal'));

describe('backup temporary files', () => {
  it('the next backup deletes those of processes that are gone, and only those', async () => {
    const { dir, db: file } = tempDb();
    await generate(file, 50);
    const backups = path.join(dir, 'backups');
    fs.mkdirSync(backups);
    const dead = await deadPid();
    const gone = [temporaryName('2026-01-01T00-00-00-000Z', dead), `${temporaryName('2026-01-01T00-00-00-000Z', dead)}-journal`];
    // This test's own process is alive: its file is a copy in progress.
    const live = [temporaryName('2026-01-01T01-00-00-000Z', process.pid), `${temporaryName('2026-01-01T01-00-00-000Z', process.pid)}-journal`];
    const other = `.notes.${dead}.tmp`;
    for (const name of [...gone, ...live, other]) fs.writeFileSync(path.join(backups, name), 'partial copy');

    const run = await runCli(['backup', '--db', file]);
    expect(run.code, run.stderr).toBe(0);
    expect(temporaryFiles(backups).sort()).toEqual([other, ...live].sort());
    for (const name of gone) expect(run.stdout).toContain(`Deleted ${path.join(backups, name)}, left by a killed backup`);
    expect(backupFiles(backups)).toHaveLength(1);
  });

  it('keeps those of another host (or without a host) until they are a day old: their pid names another process', async () => {
    const { dir, db: file } = tempDb();
    await generate(file, 50);
    const backups = path.join(dir, 'backups');
    fs.mkdirSync(backups);
    const dead = await deadPid();
    const elsewhere = hostTag() === '0badc0de' ? '0badc0d3' : '0badc0de';
    const recent = [temporaryName('2026-01-01T00-00-00-000Z', dead, elsewhere), untaggedName('2026-01-01T00-00-00-000Z', dead)];
    const old = [
      temporaryName('2026-01-01T01-00-00-000Z', dead, elsewhere),
      `${temporaryName('2026-01-01T01-00-00-000Z', dead, elsewhere)}-journal`,
      untaggedName('2026-01-01T01-00-00-000Z', dead),
    ];
    for (const name of [...recent, ...old]) fs.writeFileSync(path.join(backups, name), 'partial copy');
    // A minute past a day: no longer anyone's copy in progress.
    const dayOld = new Date(Date.now() - DAY_MS - 60_000);
    for (const name of old) fs.utimesSync(path.join(backups, name), dayOld, dayOld);

    const run = await runCli(['backup', '--db', file]);
    expect(run.code, run.stderr).toBe(0);
    expect(temporaryFiles(backups).sort()).toEqual([...recent].sort());
    for (const name of old) expect(run.stdout).toContain(`Deleted ${path.join(backups, name)}, left by a killed backup`);
  });

  it('a scheduler killed mid-copy leaves them only until the next backup; its job comes back through its lease', async () => {
    const { dir, db: file } = tempDb();
    await generate(file, 50);
    // 150 MB of filler: the copy takes long enough to be caught in the middle.
    const db = inspectDb(file);
    db.exec('create table filler (bytes blob)');
    const fill = db.prepare('insert into filler values (randomblob(1000000))');
    db.transaction(() => {
      for (let i = 0; i < 150; i++) fill.run();
    })();
    const backups = path.join(dir, 'backups');

    const scheduler = startCli(['schedule', 'backup', '--every', '1h', '--db', file]);
    await waitFor(() => fs.existsSync(backups) && temporaryFiles(backups).length > 0, 'the copy to start', 30_000, 5);
    scheduler.child.kill('SIGKILL');
    await scheduler.exited;
    expect(temporaryFiles(backups).length).toBeGreaterThan(0);
    expect(backupFiles(backups)).toEqual([]);

    const next = await runCli(['backup', '--db', file]);
    expect(next.code, next.stderr).toBe(0);
    expect(temporaryFiles(backups)).toEqual([]);
    expect(backupFiles(backups)).toHaveLength(1);

    // The killed scheduler's job is still running on its lease; once that has run out, any worker takes it.
    expect(count(db, "select count(*) from jobs where task = 'backup' and state = 'running' and attempts = 1")).toBe(1);
    db.prepare("update jobs set locked_until = ? where task = 'backup' and state = 'running'").run(Date.now() - 1);
    const worker = await runCli(['worker', '--drain', '--db', file]);
    expect(worker.code, worker.stderr).toBe(0);
    expect(count(db, "select count(*) from jobs where task = 'backup' and state = 'succeeded' and attempts = 2")).toBe(1);
    expect(backupFiles(backups)).toHaveLength(2);
    expect(temporaryFiles(backups)).toEqual([]);
  });
});
