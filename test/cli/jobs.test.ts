import { describe, expect, it } from 'vitest';
import { count, generate, inspectDb, jobs, runCli, startWorker, stopCli, succeeded, tempDb, waitFor } from '../helpers.js';
import { enqueueJobs, generateJob, hashingWorker } from '../queue/enqueue.js';

/** A database with a succeeded generate job (1), a failed unknown-task job (2) and a delayed queued job (3). */
async function queueWithHistory(): Promise<{ file: string; db: ReturnType<typeof inspectDb> }> {
  const { db: file } = tempDb();
  await generate(file, 50, '--wait');
  await enqueueJobs(file, [{ task: 'no_such_task', payload: {} }]);
  expect((await runCli(['worker', '--drain', '--db', file])).code).toBe(0);
  await generate(file, 60, '--delay', '1h');
  return { file, db: inspectDb(file) };
}

async function json<T>(args: string[]): Promise<T> {
  const run = await runCli([...args, '--json']);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
}

interface JobJson {
  id: number;
  state: string;
  attempts: number;
  error: { message: string; stack?: string } | null;
  history: Array<{ state: string; error: { message: string } }>;
}

describe('seeing the queue', () => {
  it('jobs lists newest first, filters by state and task, human and JSON', async () => {
    const { file } = await queueWithHistory();
    const all = await json<{ jobs: JobJson[] }>(['jobs', '--db', file]);
    expect(all.jobs.map((job) => [job.id, job.state])).toEqual([[3, 'queued'], [2, 'failed'], [1, 'succeeded']]);
    const failed = await json<{ jobs: JobJson[] }>(['jobs', '--state', 'failed', '--db', file]);
    expect(failed.jobs.map((job) => job.id)).toEqual([2]);
    const generated = await json<{ jobs: JobJson[] }>(['jobs', '--task', 'generate_users', '--limit', '1', '--db', file]);
    expect(generated.jobs.map((job) => job.id)).toEqual([3]);

    const human = await runCli(['jobs', '--db', file]);
    expect(human.stdout).toMatch(/│ 1 +│ generate_users │ succeeded │ 1\/3 +│ 50\/50 .*50 random users created with success!/);
    expect(human.stdout).toMatch(/│ 2 +│ no_such_task +│ failed .*PermanentJobError: unknown task 'no_such_task'/);
    expect((await runCli(['jobs', '--state', 'done', '--db', file])).code).toBe(2);
  });

  it('job shows the payload, the full error and the users a job created', async () => {
    const { file } = await queueWithHistory();
    const done = await json<{ job: JobJson; users: string[] }>(['job', '1', '--db', file]);
    expect(done.users).toHaveLength(50);
    expect(done.job).toMatchObject({ id: 1, state: 'succeeded', payload: { total: 50 } });
    const failed = await json<{ job: JobJson }>(['job', '2', '--db', file]);
    expect(failed.job.error?.stack).toContain('PermanentJobError');

    const human = await runCli(['job', '2', '--db', file]);
    expect(human.stdout).toContain('Job 2: no_such_task');
    expect(human.stdout).toMatch(/error +PermanentJobError: unknown task 'no_such_task'.*\n +at /);
    expect((await runCli(['job', '1', '--db', file])).stdout).toMatch(/users +50: user_[A-Za-z]{10}, /);
    for (const [id, code] of [['99', 1], ['abc', 2], ['0', 2]] as const) {
      const run = await runCli(['job', id, '--db', file]);
      expect(run.code, id).toBe(code);
      expect(run.stderr).toMatch(/^usergen: error: .+\n$/);
    }
  });

  it('status counts states and shows live workers, the oldest wait and the last backup', async () => {
    const { file } = await queueWithHistory();
    const { worker } = await startWorker(file);
    const status = await json<{
      counts: Record<string, number>;
      workers: Array<{ pid: number; concurrency: number }>;
      oldest_ready_wait_ms: number | null;
      last_backup_at: string | null;
    }>(['status', '--db', file]);
    expect(status.counts).toEqual({ queued: 1, running: 0, succeeded: 1, failed: 1, cancelled: 0 });
    expect(status.workers).toEqual([expect.objectContaining({ pid: worker.child.pid })]);
    expect(status.oldest_ready_wait_ms).toBeNull();
    expect(status.last_backup_at).toBeNull();
    const human = await runCli(['status', '--db', file]);
    expect(human.stdout).toContain('Jobs: queued 1, running 0, succeeded 1, failed 1, cancelled 0');
    expect(human.stdout).toContain(String(worker.child.pid));
    await stopCli(worker);
  });
});

describe('steering the queue', () => {
  it('retry puts a failed job back with attempts reset and its history kept', async () => {
    const { file, db } = await queueWithHistory();
    const { job } = await json<{ job: JobJson }>(['retry', '2', '--db', file]);
    expect(job).toMatchObject({ id: 2, state: 'queued', attempts: 0, error: null });
    expect(job.history).toEqual([expect.objectContaining({ state: 'failed', error: expect.objectContaining({ message: expect.stringContaining('unknown task') }) })]);

    const before = jobs(db);
    for (const [id, code, message] of [['1', 1, 'is succeeded'], ['3', 1, 'is queued'], ['99', 1, 'no job 99'], ['x', 2, 'job id']] as const) {
      const run = await runCli(['retry', id, '--db', file]);
      expect(run.code, id).toBe(code);
      expect(run.stderr).toContain(message);
    }
    expect(jobs(db)).toEqual(before);
  });

  it('cancel cancels a queued job, and refuses one that ended', async () => {
    const { file, db } = await queueWithHistory();
    const run = await runCli(['cancel', '3', '--db', file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('Job 3 cancelled.\n');
    const before = jobs(db);
    expect(before[2]).toMatchObject({ state: 'cancelled' });
    for (const id of ['1', '3', '99']) expect((await runCli(['cancel', id, '--db', file])).code).toBe(1);
    expect(jobs(db)).toEqual(before);
    expect((await runCli(['retry', '3', '--db', file])).code).toBe(0);
  });

  it('cancel stops a running generate_users job: it ends cancelled with none of its users written', async () => {
    const { file, id, db, worker } = await hashingWorker([]);
    const run = await runCli(['cancel', String(id), '--db', file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('stops it at its next progress point');
    await waitFor(() => worker.stderr().includes(`Task generate_users[${id}] abandoned`), 'the worker to stop the job');

    // The worker carries on with other jobs.
    await enqueueJobs(file, [generateJob(50)]);
    await waitFor(() => succeeded(db) === 1, 'the next job');
    await stopCli(worker);
    expect(jobs(db)[0]).toMatchObject({ state: 'cancelled' });
    expect(count(db, 'select count(*) from users where job_id = ?', id)).toBe(0);
  });

  it('purge deletes ended jobs older than asked, keeping their users', async () => {
    const { file, db } = await queueWithHistory();
    expect(await json<{ deleted: number }>(['purge', '--state', 'succeeded', '--older-than', '1h', '--db', file])).toEqual({ deleted: 0 });
    const run = await runCli(['purge', '--state', 'succeeded', '--older-than', '0s', '--db', file]);
    expect(run.stdout).toBe('Deleted 1 succeeded job(s).\n');
    expect(jobs(db).map((job) => job.id)).toEqual([2, 3]);
    expect(count(db, 'select count(*) from users where job_id is null')).toBe(50);
    const before = jobs(db);
    for (const args of [['--state', 'queued', '--older-than', '0s'], ['--state', 'failed'], ['--state', 'failed', '--older-than', 'soon']]) {
      expect((await runCli(['purge', ...args, '--db', file])).code, args.join(' ')).toBe(2);
    }
    expect(jobs(db)).toEqual(before);
  });
});
