import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generate, inspectDb, runCli, startCli, startWorker, stopCli, succeeded, waitFor } from '../helpers.js';
import { backupFiles, tempDatabase } from './backup-helpers.js';

interface Listed {
  file: string;
  recorded: boolean;
  on_disk: boolean;
}

async function listed(file: string, ...args: string[]): Promise<Listed[]> {
  const run = await runCli(['backups', '--json', '--db', file, ...args]);
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { backups: Listed[] }).backups;
}

async function backUp(file: string, ...args: string[]): Promise<string> {
  const run = await runCli(['backup', '--json', '--db', file, ...args]);
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { file: string }).file;
}

describe('backup records', () => {
  it('backups --dir lists that folder only; without --dir, every record', async () => {
    const { dir, db: file } = await tempDatabase();
    const other = path.join(dir, 'other');
    const inDefault = await backUp(file);
    const inOther = await backUp(file, '--dir', other);

    expect((await listed(file, '--dir', other)).map((b) => b.file)).toEqual([inOther]);
    expect((await listed(file, '--dir', path.join(dir, 'backups'))).map((b) => b.file)).toEqual([inDefault]);
    expect((await listed(file)).map((b) => b.file)).toEqual([inOther, inDefault]);
  });

  it('restore keeps every backup on record, the safety copy just made included', async () => {
    const { dir, db: file } = await tempDatabase();
    await generate(file, 50, '--wait');
    const first = await backUp(file);
    const second = await backUp(file);
    await generate(file, 60, '--wait');

    const run = await runCli(['restore', first, '--yes', '--db', file]);
    expect(run.code, run.stderr).toBe(0);
    const files = backupFiles(path.join(dir, 'backups'));
    expect(files).toHaveLength(3);
    const backups = await listed(file);
    expect(backups.map((b) => b.file)).toEqual([...files].reverse());
    expect(backups.every((b) => b.recorded && b.on_disk)).toBe(true);
    expect(backups.map((b) => b.file)).toContain(second);

    const status = await runCli(['status', '--json', '--db', file]);
    expect(JSON.parse(status.stdout)).toMatchObject({ last_backup_at: expect.any(String) });
    // Records carried over name no job: the restored job table is the copy's.
    expect(inspectDb(file).prepare('select count(*) from backups where job_id is not null').pluck().get()).toBe(0);
  });

  it('schedule --keep says what it deleted', async () => {
    const { dir, db: file } = await tempDatabase();
    const old = [await backUp(file), await backUp(file)];
    // Both older than the period: the scheduler catches up at once, then keeps 1.
    inspectDb(file).prepare('update backups set created_at = created_at - 2 * 3600 * 1000').run();
    const scheduler = startCli(['schedule', 'backup', '--every', '1h', '--keep', '1', '--db', file]);
    await waitFor(() => scheduler.stdout().includes('Next backup at'), 'the next backup time');
    await stopCli(scheduler);

    expect(backupFiles(path.join(dir, 'backups'))).toHaveLength(1);
    for (const gone of old) expect(scheduler.stdout()).toContain(`Deleted old backup ${gone}`);
  });

  it('schedule --enqueue-only warns when no worker is alive, and not when one is', async () => {
    const { db: file } = await tempDatabase();
    const alone = startCli(['schedule', 'backup', '--every', '1h', '--enqueue-only', '--db', file]);
    await waitFor(() => alone.stdout().includes('Next backup at'), 'the next backup time');
    await stopCli(alone);
    expect(alone.stdout()).toMatch(/Queued backup job \d+/);
    expect(alone.stderr()).toMatch(/^usergen: warning: no worker is running on .+\n$/);

    const { db: served } = await tempDatabase();
    const { worker, db } = await startWorker(served);
    const watched = startCli(['schedule', 'backup', '--every', '1h', '--enqueue-only', '--db', served]);
    await waitFor(() => watched.stdout().includes('Next backup at'), 'the next backup time');
    await stopCli(watched);
    await waitFor(async () => (await succeeded(db)) === 1, 'the worker to run the queued backup');
    await stopCli(worker);
    expect(watched.stdout()).toMatch(/Queued backup job \d+/);
    expect(watched.stderr()).toBe('');
  });
});
