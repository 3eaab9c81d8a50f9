import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { count, inspectDb, jobs, runCli, startWorker, stopCli, tempDb, waitFor } from '../helpers.js';
import { inspect } from '../inspect.js';
import { enqueueJobs } from '../queue/enqueue.js';

/** A rejected command prints one error line, nothing on stdout, and creates no file. */
function expectRejected(run: { code: number | null; stdout: string; stderr: string }, file: string, code = 2): void {
  expect(run.code).toBe(code);
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(/^usergen: error: [^\n]+\n$/);
  expect(run.stderr).not.toContain('    at ');
  expect(fs.existsSync(file)).toBe(false);
}

describe('generate', () => {
  it('quick start: npx usergen generate 200 --wait, then list', async () => {
    const { db: file } = tempDb();
    const npx = ['npx', '--no-install', 'usergen'];
    const run = await runCli(['generate', '200', '--wait', '--db', file], {
      command: npx,
      env: { USERGEN_HASH_ITERATIONS: undefined },
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('200 random users created with success!');
    const db = inspectDb(file);
    expect(count(db, 'select count(*) from users')).toBe(200);
    expect(count(db, "select count(*) from users where password like 'pbkdf2_sha256$600000$%'")).toBe(200);

    const list = await runCli(['list', '--db', file], { command: npx });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('showing 1-50 of 200');
    expect(list.stdout.match(/user_[A-Za-z]{10}@example\.com/g)).toHaveLength(50);

    const json = await runCli(['list', '--json', '--db', file], { command: npx });
    const page = JSON.parse(json.stdout) as { users: Array<Record<string, unknown>>; total: number };
    expect(page.total).toBe(200);
    expect(page.users).toHaveLength(50);
    expect(json.stdout).not.toMatch(/password|pbkdf2/);
  });

  it.each(['49', '501', 'abc', '1.5', '-1', '', '1e2', '0x40'])('refuses total %j with exit 2, creating nothing', async (total) => {
    const { db: file } = tempDb();
    expectRejected(await runCli(['generate', total, '--db', file]), file);
  });

  it('refuses a missing total and bad options with exit 2, creating nothing', async () => {
    const { db: file } = tempDb();
    for (const args of [
      ['generate'],
      ['generate', '100', '--delay', '5x'],
      ['generate', '100', '--priority', 'abc'],
      ['generate', '100', '--hash-iterations', '10'],
      ['worker', '--concurrency', '0'],
      ['worker', '--poll', 'banana'],
      ['worker', '--loglevel', 'loud'],
      ['frobnicate'],
    ]) {
      expectRejected(await runCli([...args, '--db', file]), file);
    }
  });

  it('with no command prints the help and exits 2', async () => {
    const run = await runCli([]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('Usage: usergen');
    expect(run.stderr).not.toContain('usergen: error');
  });

  it('enqueues without --wait and prints the job id; --json parses', async () => {
    const { db: file } = tempDb();
    const run = await runCli(['generate', '60', '--db', file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('Queued job 1: generate 60 users.\n');
    expect(run.stderr).toContain('No worker is running');
    const db = await inspect(file);
    expect((await jobs(db)).map(({ id, task, state }) => ({ id, task, state }))).toEqual([{ id: 1, task: 'generate_users', state: 'queued' }]);
    const json = await runCli(['generate', '70', '--json', '--db', file]);
    expect(JSON.parse(json.stdout)).toMatchObject({ job: { id: 2, task: 'generate_users', state: 'queued', payload: { total: 70 } } });
    expect((await jobs(db)).map((job) => job.state)).toEqual(['queued', 'queued']);
  });

  it('--wait with no worker alive runs the job in the waiting process', async () => {
    const { db: file } = tempDb();
    const run = await runCli(['generate', '60', '--wait', '--db', file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('Queued job 1: generate 60 users.\n60 random users created with success!\n');
    expect(count(inspectDb(file), 'select count(*) from users where job_id = 1')).toBe(60);
  });

  it('--wait with a worker alive leaves the job to that worker', async () => {
    const { db: file } = tempDb();
    await enqueueJobs(file, []);
    const { worker, db } = await startWorker(file);
    const run = await runCli(['generate', '60', '--wait', '--db', file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('60 random users created with success!');
    // The worker logs the success just after its commit, which is what ended the wait.
    await waitFor(() => worker.stderr().includes('Task generate_users[1] succeeded'), "the worker's success line", 5_000);
    expect(worker.stderr()).toContain('Task generate_users[1] received');
    expect(worker.stderr()).toMatch(/Task generate_users\[1\] succeeded in [\d.]+s: '60 random users created with success!'/);
    expect(await db.count('select count(*) from users where job_id = 1')).toBe(60);
    await stopCli(worker);
  });

  it('--wait exits 1 with the error when the job fails', async () => {
    const { db: file } = tempDb();
    // Valid when enqueued; the worker then finds the users table gone, so every attempt fails.
    await enqueueJobs(file, []);
    const db = inspectDb(file);
    db.exec('alter table users rename to people');
    const run = await runCli(['generate', '50', '--wait', '--db', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^usergen: error: job 1 failed after 3 attempt\(s\): .*no such table: users\n$/);
  });
});
