import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RestoreEvent, RestoreQuestion } from '../src/operations/restore.js';
import type { ScheduleEvent } from '../src/operations/schedule.js';
import type { JobStore } from '../src/store/store.js';
import { damagePages } from './faults.js';
import { tempDb } from './helpers.js';
import { built, generateUsers } from './operation-helpers.js';
import { registerWorker } from '../src/queue/live-workers.js';

// backup, check, restore and the backup schedule called as a library on real files: what they did
// as typed data, or a typed refusal that carries what it is about. Built (see `built`): a backup
// copies in a thread that loads a compiled file.

const { backUp, backupListing, runBackupJob } = await built<typeof import('../src/operations/backups.js')>('operations/backups');
const { checkDatabase } = await built<typeof import('../src/operations/check.js')>('operations/check');
const { BackupFailed, BackupNotFound, NotConfirmed, WorkersRunning } =
  await built<typeof import('../src/operations/refusals.js')>('operations/refusals');
const { restore } = await built<typeof import('../src/operations/restore.js')>('operations/restore');
const { runBackupSchedule } = await built<typeof import('../src/operations/schedule.js')>('operations/schedule');
const { everyCadence } = await built<typeof import('../src/queue/schedule.js')>('queue/schedule');
const { jobSpec } = await built<typeof import('../src/queue/task.js')>('queue/task');
const { openStore } = await built<typeof import('../src/store/open.js')>('store/open');
const { backupTask } = await built<typeof import('../src/tasks/backup.js')>('tasks/backup');
const { countUsers } = await built<typeof import('../src/tasks/users.js')>('tasks/users');

async function withDatabase<T>(file: string, work: (store: JobStore) => Promise<T>): Promise<T> {
  const store = await openStore(file);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

const DAMAGED_NAME = /^usergen-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z-damaged\.db$/;

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** A database of `users` users (0, 50 to 500, or a multiple of 500) and its backup folder. */
async function database(users: number): Promise<{ file: string; dir: string }> {
  const { dir, db: file } = tempDb();
  if (users === 0) await withDatabase(file, async () => {});
  else await generateUsers(file, users <= 500 ? [users] : new Array<number>(users / 500).fill(500));
  return { file, dir: path.join(dir, 'backups') };
}

describe('backup', () => {
  it('returns what it wrote, on record; --keep prunes the oldest and says which', async () => {
    const { file, dir } = await database(50);
    const first = await withDatabase(file, (store) => backUp(store, { dir, keep: null }));
    expect(first).toMatchObject({ users: 50, jobs: 2, pruned: [], abandoned: [] });
    expect(path.dirname(first.file)).toBe(dir);
    expect(fs.statSync(first.file).size).toBe(first.size_bytes);

    const second = await withDatabase(file, (store) => backUp(store, { dir, keep: 1 }));
    expect(second.pruned).toEqual([first.file]);
    expect(fs.existsSync(first.file)).toBe(false);
    const listing = await withDatabase(file, (store) => backupListing(store, { dir, onlyDir: true }));
    expect(listing.backups).toEqual([expect.objectContaining({ file: second.file, users: 50, verified: true, recorded: true, on_disk: true })]);
  });

  it('a backup job that ends without a backup is BackupFailed, with its job and state', async () => {
    const { file, dir } = await database(0);
    await withDatabase(file, async (store) => {
      const job = await store.enqueue(jobSpec(backupTask(store), { dir, keep: null }));
      await store.cancelJob(job.id);
      const failure = await runBackupJob(store, job.id).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(BackupFailed);
      expect(failure).toMatchObject({ jobId: job.id, state: 'cancelled', error: null, message: `backup job ${job.id} cancelled: no error recorded` });
    });
  });
});

describe('check', () => {
  it('reports a sound file and a damaged one as data', async () => {
    const { file } = await database(1000);
    expect(await checkDatabase({ location: file })).toMatchObject({ file, kind: 'full', ok: true, problems: [] });

    damagePages(file, 'users');
    const report = await checkDatabase({ location: file });
    expect(report).toMatchObject({ file, kind: 'full', ok: false });
    expect(report.problems.length).toBeGreaterThan(0);
    expect((await checkDatabase({ location: file, kind: 'quick' })).ok).toBe(false);
  });
});

describe('restore', () => {
  it('refuses while a live worker is recorded (WorkersRunning), changing nothing; with force it restores', async () => {
    const { file, dir } = await database(50);
    const backup = await withDatabase(file, (store) => backUp(store, { dir, keep: null }));
    await generateUsers(file, [60]);
    await withDatabase(file, (store) =>
      registerWorker(
        store,
        {
          id: 'elsewhere:1',
          host: os.hostname(),
          pid: process.pid,
          concurrency: 1,
          tasks: '[]',
        },
        600_000,
      ),
    );
    const hash = sha256(file);

    const refusal = await restore({ backup: backup.file, location: file, dir }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(WorkersRunning);
    expect(refusal).toMatchObject({ location: file, workers: 1, message: `1 worker(s) are running on ${file}: stop them first, or pass --force` });
    expect(sha256(file)).toBe(hash);
    expect(fs.readdirSync(dir)).toEqual([path.basename(backup.file)]);

    const forced = await restore({ backup: backup.file, location: file, dir, force: true });
    expect(forced).toMatchObject({ was: 'sound', users: 50 });
  });

  it('asks before it changes anything (NotConfirmed on no); then backs the current file up, restores, and says what it did', async () => {
    const { file, dir } = await database(50);
    const backup = await withDatabase(file, (store) => backUp(store, { dir, keep: null }));
    await generateUsers(file, [60]);
    const hash = sha256(file);
    const questions: RestoreQuestion[] = [];

    const no = await restore({
      backup: backup.file,
      location: file,
      dir,
      confirm: async (q) => {
        questions.push(q);
        return false;
      },
    }).catch((e: unknown) => e);
    expect(no).toBeInstanceOf(NotConfirmed);
    expect(no).toMatchObject({ action: 'restore', message: 'restore cancelled; nothing changed' });
    expect(questions).toEqual([{ location: file, current: 'sound', current_users: 110, backup: backup.file, backup_users: 50 }]);
    expect(sha256(file)).toBe(hash);

    const events: RestoreEvent[] = [];
    // A bare name, as `backups` prints it, is found in the backup folder.
    const result = await restore({
      backup: path.basename(backup.file),
      location: file,
      dir,
      confirm: async () => true,
      report: (e) => events.push(e),
    });
    expect(result).toMatchObject({ backup: backup.file, location: file, was: 'sound', set_aside: null, users: 50 });
    expect(result.safety_backup).toMatchObject({ users: 110, pruned: [] });
    expect(events).toEqual([{ type: 'safety-backup', backup: result.safety_backup }]);
    // Both backups stay on record: the restored copy's own older list is not what exists.
    const listing = await withDatabase(file, async (store) => {
      expect(await countUsers(store.db)).toBe(50);
      return backupListing(store, { dir, onlyDir: true });
    });
    expect(listing.backups.map((b) => [b.file, b.recorded])).toEqual([
      [result.safety_backup!.file, true],
      [backup.file, true],
    ]);
  });

  it('sets a damaged database aside as it was, and returns where; a backup found nowhere is BackupNotFound', async () => {
    const { file, dir } = await database(1000);
    const backup = await withDatabase(file, (store) => backUp(store, { dir, keep: null }));
    damagePages(file, 'users');
    const damaged = fs.readFileSync(file);

    const missing = await restore({ backup: 'usergen-nowhere.db', location: file, dir }).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(BackupNotFound);
    expect(missing).toMatchObject({ file: 'usergen-nowhere.db', lookedIn: [process.cwd(), dir] });

    const events: RestoreEvent[] = [];
    const result = await restore({ backup: backup.file, location: file, dir, report: (e) => events.push(e) });
    expect(result).toMatchObject({ was: 'damaged', safety_backup: null, users: 1000 });
    expect(path.basename(result.set_aside!.file)).toMatch(DAMAGED_NAME);
    expect(result.set_aside!.wal).toBeNull();
    expect(fs.readFileSync(result.set_aside!.file).equals(damaged)).toBe(true);
    expect(events).toEqual([{ type: 'set-aside', renamed: false, ...result.set_aside }]);
    expect((await checkDatabase({ location: file })).ok).toBe(true);
  });
});

describe('the backup schedule', () => {
  it('catches up on a database with no backup, then tells the next slot; stops when its signal aborts', async () => {
    const { file, dir } = await database(50);
    const stop = new AbortController();
    const events: ScheduleEvent[] = [];
    await withDatabase(file, (store) =>
      runBackupSchedule(store, {
        cadence: everyCadence(3_600_000, '1h'),
        payload: { dir, keep: null },
        enqueueOnly: false,
        signal: stop.signal,
        report: (event) => {
          events.push(event);
          if (event.type === 'next') stop.abort();
        },
      }),
    );
    expect(events.map((event) => event.type)).toEqual(['catch-up', 'done', 'next']);
    expect(events[1]).toMatchObject({ type: 'done', result: { users: 50 } });
  });
});
