import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { damagePages } from '../faults.js';
import { generate, runCli, tempDb } from '../helpers.js';
import { backupFiles, tempDatabase } from './backup-helpers.js';

// restore where it is needed most: the current file damaged, or gone; and a backup named as
// `backups` prints it.

const DAMAGED_NAME = /^usergen-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z-damaged\.db$/;

function usersOf(file: string): string[] {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return db.prepare('select username from users order by id').pluck().all() as string[];
  } finally {
    db.close();
  }
}

async function backUp(file: string, ...args: string[]): Promise<string> {
  const run = await runCli(['backup', '--json', '--db', file, ...args]);
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { file: string }).file;
}

describe('restore', () => {
  it('into a damaged file: sets the damaged file aside, writes nothing into it, and leaves a sound file', async () => {
    const { dir, db: file } = tempDb();
    for (let i = 0; i < 4; i++) await generate(file, 500);
    const drained = await runCli(['worker', '--drain', '--db', file]);
    expect(drained.code, drained.stderr).toBe(0);
    const backup = await backUp(file);
    const users = usersOf(backup);
    expect(users).toHaveLength(2000);
    damagePages(file, 'users');
    const damaged = fs.readFileSync(file);

    const run = await runCli(['restore', backup, '--yes', '--db', file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');

    const backups = path.join(dir, 'backups');
    const asides = fs.readdirSync(backups).filter((name) => DAMAGED_NAME.test(name));
    expect(asides).toHaveLength(1);
    const aside = path.join(backups, asides[0]!);
    // The damaged file as it was: no job was queued into it on the way.
    expect(fs.readFileSync(aside).equals(damaged)).toBe(true);
    expect(fs.existsSync(`${aside}-wal`)).toBe(false);
    expect(fs.statSync(aside).mode & 0o777).toBe(0o600);
    expect(run.stdout.split('\n').filter((line) => line.includes(aside))).toHaveLength(1);
    expect(run.stdout).not.toContain('Current database backed up to');

    const check = await runCli(['check', '--db', file]);
    expect(check.code, check.stderr).toBe(0);
    expect(usersOf(file)).toEqual(users);

    // Not a backup: neither listed nor counted by --keep.
    const listed = await runCli(['backups', '--json', '--db', file]);
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { backups: Array<{ file: string }> }).backups.map((b) => b.file)).toEqual([backup]);
    await backUp(file, '--keep', '1');
    expect(fs.existsSync(aside)).toBe(true);
    expect(backupFiles(backups)).toHaveLength(1);
  });

  it('into a missing file: creates it from the backup, with no safety copy', async () => {
    const { dir, db: file } = tempDb();
    await generate(file, 50, '--wait');
    const backup = await backUp(file);
    const users = usersOf(backup);
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });

    const run = await runCli(['restore', backup, '--yes', '--db', file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toContain('Current database backed up to');
    expect(usersOf(file)).toEqual(users);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect((await runCli(['check', '--db', file])).code).toBe(0);
    expect(backupFiles(path.join(dir, 'backups'))).toEqual([backup]);
  });

  it('takes a backup by the name backups prints, from any folder', async () => {
    const { dir, db: file } = await tempDatabase();
    const folder = path.join(dir, 'elsewhere');
    await generate(file, 50, '--wait');
    const backup = await backUp(file, '--dir', folder);
    await generate(file, 60, '--wait');

    const listed = await runCli(['backups', '--dir', folder, '--db', file]);
    expect(listed.code, listed.stderr).toBe(0);
    const name = /usergen-\S+?\.db/.exec(listed.stdout)?.[0];
    expect(name).toBe(path.basename(backup));

    const run = await runCli(['restore', name!, '--dir', folder, '--yes', '--db', file], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(usersOf(file)).toHaveLength(50);

    // Without --dir, the default folder beside the database.
    const inDefault = await backUp(file);
    await generate(file, 70, '--wait');
    const again = await runCli(['restore', path.basename(inDefault), '--yes', '--db', file], { cwd: folder });
    expect(again.code, again.stderr).toBe(0);
    expect(usersOf(file)).toHaveLength(50);
  });
});
