import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { damagePages, fillDisk, remount, smallDisk } from '../faults.js';
import { BIN, count, generate, runCli, startCli, startWorker, tempDb, waitFor } from '../helpers.js';
import { inspect } from '../inspect.js';
import { enqueueJobs, generateJob, progressOf, SLOW_ITERATIONS } from '../queue/enqueue.js';

// What a user sees when the file or its disk is in trouble: one line naming the file and the
// cause, exit 1, nothing committed lost, and work going on once the cause is gone.

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('usergen: error:'));
}

function integrity(file: string): string {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

describe('a full disk', () => {
  it('a draining worker exits 1 with one line; nothing committed is lost; work goes on once space is freed', async () => {
    const { dir, db: file } = smallDisk(4096);
    const ids = await enqueueJobs(file, [generateJob(200, SLOW_ITERATIONS), generateJob(200), generateJob(200)]);
    const db = await inspect(file);

    const worker = startCli(['worker', '--drain', '--concurrency', '1', '--lease', '1s', '--db', file]);
    await waitFor(async () => (await progressOf(db, ids[0]!)) > 0, 'the worker to be hashing');
    const free = fillDisk(dir);
    const exit = await worker.exited;

    expect(exit.code).toBe(1);
    expect(errorLines(exit.stderr)).toEqual([
      `usergen: error: cannot write ${file}: database or disk is full (free some space, then run the command again)`,
    ]);
    const refused = await runCli(['generate', '50', '--db', file]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${file}: database or disk is full`);

    free();
    expect(integrity(file)).toBe('ok');
    expect(await db.count('select count(*) from jobs')).toBe(3);
    // The job the worker held comes back through its lease, like any job of a worker that died.
    await waitFor(
      async () => (await db.count("select count(*) from jobs where state = 'running' and locked_until > ?", Date.now())) === 0,
      'the lease to lapse',
    );
    const drained = await runCli(['worker', '--drain', '--db', file]);
    expect(drained.code, drained.stderr).toBe(0);
    expect(await db.count("select count(*) from jobs where state = 'succeeded'")).toBe(3);
    expect(await db.count('select count(*) from users')).toBe(600);
  });

  it('a long-running worker logs a failing claim once, then keeps trying until space is freed', async () => {
    const { dir, db: file } = smallDisk(4096);
    // A claim writes only once a job is ready; each write appends to the WAL, which cannot grow
    // once the disk is full. The job becomes ready only after the disk is filled.
    await generate(file, 50, '--delay', '8s');
    const { worker, db } = await startWorker(file, ['--loglevel', 'debug']);
    fillDisk(dir);
    expect(await db.count("select count(*) from jobs where state = 'queued'"), 'the job was claimed before the disk was full').toBe(1);
    await waitFor(() => /claiming jobs failed again \(3 in a row\)/.test(worker.stderr()), 'three failed claims in a row');

    const warnings = worker
      .stderr()
      .split('\n')
      .filter((line) => line.includes('WARNING] claiming jobs failed'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('database or disk is full');
    fs.rmSync(path.join(dir, 'filler'));
    await waitFor(
      async () => (await db.count("select count(*) from jobs where state = 'succeeded'")) === 1,
      'the job to be done once space is freed',
    );
    expect(worker.stderr()).toMatch(/claiming jobs works again after \d+ failure\(s\) in a row/);
    worker.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
  });
});

describe('a log file on a full disk', () => {
  it('does not stop the worker: the log goes on on stderr, and says so once', async () => {
    const { dir } = smallDisk(1024);
    const { db: file } = tempDb();
    await generate(file, 50);
    fillDisk(dir);
    const log = path.join(dir, 'worker.log');
    const run = await runCli(['worker', '--drain', '--logfile', log, '--db', file]);

    expect(run.code, run.stderr).toBe(0);
    expect(count(new BetterSqlite3(file, { readonly: true }), "select count(*) from jobs where state = 'succeeded'")).toBe(1);
    expect(run.stderr.match(/cannot write to the log file/g)).toHaveLength(1);
    expect(run.stderr).toContain('Task generate_users[1] succeeded');
  });
});

describe('a damaged file', () => {
  async function damagedDatabase(): Promise<{ file: string; users: number }> {
    const { db: file } = tempDb();
    for (let i = 0; i < 4; i++) await generate(file, 500);
    const drained = await runCli(['worker', '--drain', '--db', file]);
    expect(drained.code, drained.stderr).toBe(0);
    const users = count(new BetterSqlite3(file, { readonly: true }), 'select count(*) from users');
    damagePages(file, 'users');
    return { file, users };
  }

  it('check exits 1 and says what is damaged; a worker refuses it and commits nothing; a command that meets it says so', async () => {
    const { file } = await damagedDatabase();
    const report = await runCli(['check', '--json', '--db', file]);
    expect(report.code).toBe(1);
    expect(JSON.parse(report.stdout)).toMatchObject({ file, kind: 'full', ok: false, problems: expect.arrayContaining([expect.any(String)]) });
    const human = await runCli(['check', '--db', file]);
    expect(human.code).toBe(1);
    expect(errorLines(human.stderr)).toEqual([
      expect.stringMatching(new RegExp(`^usergen: error: ${file} is damaged: .*; restore a backup \\(usergen backups\\)$`)),
    ]);

    await generate(file, 100);
    const worker = await runCli(['worker', '--drain', '--db', file]);
    expect(worker.code).toBe(1);
    expect(errorLines(worker.stderr)).toEqual([
      expect.stringMatching(new RegExp(`^usergen: error: ${file} is damaged: .*; restore a backup \\(usergen backups\\)$`)),
    ]);
    const jobsLeft = new BetterSqlite3(file, { readonly: true });
    expect(count(jobsLeft, "select count(*) from jobs where state = 'queued'")).toBe(1);
    jobsLeft.close();

    const list = await runCli(['list', '--limit', '10000', '--db', file]);
    expect(list.code).toBe(1);
    expect(errorLines(list.stderr)).toEqual([
      expect.stringMatching(new RegExp(`^usergen: error: ${file} is damaged: .*; restore a backup \\(usergen backups\\)$`)),
    ]);
  });

  it('check on a sound file exits 0', async () => {
    const { db: file } = tempDb();
    await generate(file, 50);
    const report = await runCli(['check', '--json', '--db', file]);
    expect(report.code, report.stderr).toBe(0);
    expect(JSON.parse(report.stdout)).toMatchObject({ ok: true, problems: [] });
  });
});

describe('a file usergen may not write', () => {
  it('on a read-only mount: one line naming the file and why', async () => {
    const { dir, db: file } = smallDisk(1024);
    await generate(file, 50);
    remount(dir, 'ro');
    const list = await runCli(['list', '--db', file]);
    expect(list.code).toBe(1);
    expect(errorLines(list.stderr)).toEqual([
      `usergen: error: cannot write ${file}: the filesystem holding ${dir} is mounted read-only; usergen needs to write to its database`,
    ]);
    remount(dir, 'rw');
  });

  it('in a folder this user may not write: one line naming the file and why', async () => {
    const { dir, db: file } = tempDb();
    await generate(file, 50);
    fs.chownSync(file, 65534, 65534);
    fs.chmodSync(dir, 0o555);
    const run = spawnSync(process.execPath, [BIN, 'list', '--db', file], { uid: 65534, gid: 65534, encoding: 'utf8' });
    fs.chmodSync(dir, 0o700);
    expect(run.status).toBe(1);
    expect(errorLines(run.stderr)).toEqual([
      `usergen: error: cannot write ${file}: its folder ${dir} is not writable, and SQLite must create its -wal and -shm files beside it`,
    ]);
  });
});
