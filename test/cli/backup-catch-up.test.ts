import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { count, inspectDb, runCli, startCli, stopCli, waitFor, type JobRecord } from '../helpers.js';
import { backupFiles, backupsWritten, tempDatabase } from './backup-helpers.js';

interface BackupJob extends JobRecord {
  unique_key: string;
}

/**
 * A database whose only backup job is the current slot's own (`backup@<slot>`, not a catch-up),
 * queued and never run: made by an `--enqueue-only` scheduler with no worker, its key then turned
 * into the slot's own. `state` then sets it as another process would have left it.
 */
async function slotJobLeft(state: (db: ReturnType<typeof inspectDb>, id: number) => void) {
  const { dir, db: file } = await tempDatabase();
  const enqueuer = startCli(['schedule', 'backup', '--every', '1h', '--enqueue-only', '--db', file]);
  await waitFor(() => enqueuer.stdout().includes('Next backup at'), 'the catch-up to be queued');
  await stopCli(enqueuer);
  const db = inspectDb(file);
  const [job] = db.prepare("select * from jobs where task = 'backup'").all() as BackupJob[];
  expect(job).toMatchObject({ state: 'queued', unique_key: expect.stringMatching(/^backup@[^/]+Z\/catch-up:/) });
  expect(job!.unique_key.endsWith(`/catch-up:${path.join(dir, 'backups')}`)).toBe(true);
  db.prepare("update jobs set unique_key = substr(unique_key, 1, instr(unique_key, '/catch-up') - 1) where id = ?").run(job!.id);
  state(db, job!.id);
  return { dir, file, db, jobId: job!.id };
}

const backupJobs = (db: ReturnType<typeof inspectDb>) => db.prepare("select * from jobs where task = 'backup' order by id").all() as BackupJob[];

describe('schedule backup catch-up', () => {
  it('makes no catch-up while the slot backup is running in another process, not yet on record', async () => {
    const { dir, file, db, jobId } = await slotJobLeft((db, id) => {
      // Mid-copy in a live process: attempt 1, its lease held for the next hour.
      db.prepare("update jobs set state = 'running', attempts = 1, locked_by = 'elsewhere', locked_until = ?, started_at = ? where id = ?").run(
        Date.now() + 3_600_000,
        Date.now(),
        id,
      );
    });
    const scheduler = startCli(['schedule', 'backup', '--every', '1h', '--db', file]);
    await waitFor(() => /is running: no catch-up|catching up|backing up now/.test(scheduler.stdout()), 'the catch-up decision');
    await stopCli(scheduler);

    // One job for the slot, still the other process's: no catch-up job, no file of this scheduler's.
    expect(backupJobs(db)).toEqual([expect.objectContaining({ id: jobId, state: 'running', locked_by: 'elsewhere' })]);
    expect(backupFiles(path.join(dir, 'backups'))).toEqual([]);
    expect(scheduler.stdout()).not.toMatch(/catching up|backing up now/);
    expect(scheduler.stdout()).toContain(`Backup job ${jobId} (backup@`);
  });

  it.each([
    ['queued', () => {}],
    [
      'running, its lease run out (its scheduler was killed)',
      (db: ReturnType<typeof inspectDb>, id: number) => {
        db.prepare("update jobs set state = 'running', attempts = 1, locked_by = 'killed', locked_until = ?, started_at = ? where id = ?").run(
          Date.now() - 1000,
          Date.now() - 31_000,
          id,
        );
      },
    ],
  ])('runs the slot backup left %s instead of a catch-up: one backup', async (_, state) => {
    const { dir, file, db, jobId } = await slotJobLeft(state);
    const scheduler = startCli(['schedule', 'backup', '--every', '1h', '--db', file]);
    await waitFor(() => scheduler.stdout().includes('Next backup at'), 'the next backup time');
    await stopCli(scheduler);

    // The slot's own job made the one backup; no catch-up job was queued beside it.
    const jobs = backupJobs(db);
    expect(jobs).toEqual([expect.objectContaining({ id: jobId, state: 'succeeded' })]);
    expect(jobs[0]!.unique_key).not.toContain('catch-up');
    const files = backupFiles(path.join(dir, 'backups'));
    expect(files).toHaveLength(1);
    expect(count(db, 'select count(*) from backups where job_id = ? and file = ?', jobId, files[0])).toBe(1);
    expect(scheduler.stdout()).not.toMatch(/catching up|backing up now/);
    expect(scheduler.stdout()).toContain(`Backup job ${jobId} done: `);
    expect(backupsWritten(scheduler)).toBe(0);
  });

  it('with --enqueue-only, leaves a queued slot backup to the workers and queues no catch-up', async () => {
    const { file, db, jobId } = await slotJobLeft(() => {});
    const scheduler = startCli(['schedule', 'backup', '--every', '1h', '--enqueue-only', '--db', file]);
    await waitFor(() => scheduler.stdout().includes('Next backup at'), 'the next backup time');
    await stopCli(scheduler);

    expect(backupJobs(db)).toEqual([expect.objectContaining({ id: jobId, state: 'queued' })]);
    expect(scheduler.stdout()).toContain(`Backup job ${jobId} (backup@`);
    expect(scheduler.stdout()).toContain('is queued: no catch-up.');
  });

  it.each([
    ['a backup job left queued for another folder', false],
    ['that job and a recent backup in the other folder', true],
  ])('%s does not stop the catch-up into this one', async (_, recentThere) => {
    const { dir, db: file } = await tempDatabase();
    const other = path.join(dir, 'other');
    const enqueuer = startCli(['schedule', 'backup', '--every', '1h', '--enqueue-only', '--dir', other, '--keep', '1', '--db', file]);
    await waitFor(() => enqueuer.stdout().includes('Next backup at'), "the other folder's catch-up to be queued");
    await stopCli(enqueuer);
    const db = inspectDb(file);
    const [queued] = backupJobs(db);
    expect(queued).toMatchObject({ state: 'queued' });
    if (recentThere) expect((await runCli(['backup', '--dir', other, '--db', file])).code).toBe(0);

    const scheduler = startCli(['schedule', 'backup', '--every', '1h', '--db', file]);
    await waitFor(() => scheduler.stdout().includes('Next backup at'), 'the next backup time');
    await stopCli(scheduler);

    expect(scheduler.stdout()).toContain('No backup yet: backing up now.');
    expect(backupsWritten(scheduler)).toBe(1);
    expect(backupFiles(path.join(dir, 'backups'))).toHaveLength(1);
    // The other folder's job is left to its own scheduler or a worker, with its own --keep.
    expect(backupJobs(db).find((job) => job.id === queued!.id)).toMatchObject({ state: 'queued' });
    expect(backupFiles(other)).toHaveLength(recentThere ? 1 : 0);
  });
});
