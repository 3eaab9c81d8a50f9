import { describe, expect, it } from 'vitest';
import { count, FIXTURE_TASKS, generate, inspectDb, jobs, runCli, startWorker, stopCli, succeeded, tempDb, waitFor } from '../helpers.js';
import { inspect, type Probe } from '../inspect.js';
import { enqueueJobs, generateJob, hashingWorker } from '../queue/enqueue.js';

/** A database with a succeeded generate job (1), a job failed for its invalid payload (2) and a delayed queued job (3). */
async function queueWithHistory(): Promise<{ file: string; db: Probe }> {
  const { db: file } = tempDb();
  await generate(file, 50, '--wait');
  await enqueueJobs(file, [{ task: 'generate_users', payload: { total: 'lots' } }]);
  expect((await runCli(['worker', '--drain', '--db', file])).code).toBe(0);
  await generate(file, 60, '--delay', '1h');
  return { file, db: await inspect(file) };
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
  history: Array<{
    at: string;
    attempt: number;
    state: string;
    error?: { name: string; message: string; stack?: string };
    retry_at?: string | null;
    retried_from?: string;
  }>;
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Every number in `value` that could be a time in ms since the epoch (after 2001), with its path. */
function epochNumbers(value: unknown, at = '$'): string[] {
  if (typeof value === 'number') return value > 1e12 ? [`${at} = ${value}`] : [];
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) => epochNumbers(inner, `${at}.${key}`));
}

/** A job of test_always_fails that failed all 3 attempts, was retried by hand, and failed 3 more. */
async function failedTwice(): Promise<{ file: string; id: number }> {
  const { db: file } = tempDb();
  const [id] = await enqueueJobs(file, [{ task: 'test_always_fails', payload: {} }]);
  const db = inspectDb(file);
  const { worker } = await startWorker(file, ['--tasks', FIXTURE_TASKS]);
  const failedWith = (entries: number) => () =>
    count(db, "select count(*) from jobs where state = 'failed' and json_array_length(history) = ?", entries) === 1;
  await waitFor(failedWith(3), 'the job to fail three times');
  expect((await runCli(['retry', String(id), '--db', file])).code).toBe(0);
  await waitFor(failedWith(7), 'the job to fail three times more');
  await stopCli(worker);
  return { file, id: id! };
}

describe('seeing the queue', () => {
  it('jobs lists newest first, filters by state and task, human and JSON', async () => {
    const { file } = await queueWithHistory();
    const all = await json<{ jobs: JobJson[] }>(['jobs', '--db', file]);
    expect(all.jobs.map((job) => [job.id, job.state])).toEqual([
      [3, 'queued'],
      [2, 'failed'],
      [1, 'succeeded'],
    ]);
    const failed = await json<{ jobs: JobJson[] }>(['jobs', '--state', 'failed', '--db', file]);
    expect(failed.jobs.map((job) => job.id)).toEqual([2]);
    const generated = await json<{ jobs: JobJson[] }>(['jobs', '--task', 'generate_users', '--limit', '1', '--db', file]);
    expect(generated.jobs.map((job) => job.id)).toEqual([3]);

    const human = await runCli(['jobs', '--db', file]);
    expect(human.stdout).toMatch(/│ 1 +│ generate_users │ succeeded │ 1\/3 +│ 50\/50 .*50 random users created with success!/);
    expect(human.stdout).toMatch(/│ 2 +│ generate_users │ failed .*PermanentJobError: invalid payload for generate_users/);
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
    expect(human.stdout).toContain('Job 2: generate_users');
    expect(human.stdout).toMatch(/error +PermanentJobError: invalid payload for generate_users.*\n +at /);
    expect((await runCli(['job', '1', '--db', file])).stdout).toMatch(/users +50: user_[A-Za-z]{10}, /);
    for (const [id, code] of [
      ['99', 1],
      ['abc', 2],
      ['0', 2],
    ] as const) {
      const run = await runCli(['job', id, '--db', file]);
      expect(run.code, id).toBe(code);
      expect(run.stderr).toMatch(/^usergen: error: .+\n$/);
    }
  });

  it('jobs fits an 80-column terminal, and --wide shows every column in full', async () => {
    const { file } = await queueWithHistory();
    expect((await runCli(['backup', '--db', file])).code).toBe(0);
    const narrow = await runCli(['jobs', '--db', file], { env: { COLUMNS: '80' } });
    expect(narrow.code, narrow.stderr).toBe(0);
    const lines = narrow.stdout.trimEnd().split('\n');
    expect(lines.filter((line) => line.length > 80)).toEqual([]);
    expect(lines.length).toBe(4 + 3); // the heading, 4 jobs, 2 borders: no row wraps
    expect(narrow.stdout).toMatch(/│ 4 +│ backup +│ succeeded │/);

    const wide = await runCli(['jobs', '--wide', '--db', file], { env: { COLUMNS: '80' } });
    expect(wide.stdout).toMatch(/│ ID +│ Task +│ State +│ Attempts │ Progress │ Created \(UTC\) +│ Run at \(UTC\) +│ Took +│ Result or error +│/);
    expect(wide.stdout).toMatch(/│ 4 +│ backup +│ succeeded │ 1\/3 .*│ 50 users, [\d.]+ kB in usergen-\d{4}-\d\d-\d\dT[\d-]+Z\.db +│/);
  });

  it("jobs shows a backup job's result as its users, size and file, not as JSON", async () => {
    const { db: file } = tempDb();
    await generate(file, 50, '--wait');
    expect((await runCli(['backup', '--db', file])).code).toBe(0);
    const run = await runCli(['jobs', '--task', 'backup', '--db', file]);
    expect(run.stdout).toMatch(/│ 2 +│ backup +│ succeeded .*│ 50 users, [\d.]+ kB in usergen-\d{4}-\d\d-\d\dT[\d-]+Z\.db +│/);
    expect(run.stdout).not.toContain('{');
    const job = await runCli(['job', '2', '--db', file]);
    expect(job.stdout).toMatch(/result +50 users, [\d.]+ kB in \/.*\/backups\/usergen-[\dT-]+Z\.db\n/);
  });

  it('job shows every failed attempt and retry as one readable line each; --json has ISO times everywhere', async () => {
    const { file, id } = await failedTwice();
    const human = await runCli(['job', String(id), '--db', file]);
    const history = human.stdout.slice(human.stdout.indexOf('  history  '));
    const time = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d';
    const failedAt = (attempt: number, outcome: string) => `${time}  attempt ${attempt}  ${outcome}: Error: this task always fails`;
    const expected = [
      failedAt(1, `failed, retry at ${time}`),
      failedAt(2, `failed, retry at ${time}`),
      failedAt(3, 'failed'),
      `${time}  attempt 3  retried by hand \\(it was failed\\)`,
      failedAt(1, `failed, retry at ${time}`),
      failedAt(2, `failed, retry at ${time}`),
      failedAt(3, 'failed'),
    ];
    expect(history).toMatch(new RegExp(`^  history  ${expected.join('\\n {11}')}\\n`));

    const { job } = await json<{ job: JobJson }>(['job', String(id), '--db', file]);
    expect(job.history.map((entry) => [entry.attempt, entry.state, entry.retried_from ?? entry.error?.message])).toEqual([
      [1, 'queued', 'this task always fails'],
      [2, 'queued', 'this task always fails'],
      [3, 'failed', 'this task always fails'],
      [3, 'queued', 'failed'],
      [1, 'queued', 'this task always fails'],
      [2, 'queued', 'this task always fails'],
      [3, 'failed', 'this task always fails'],
    ]);
    expect(job.history[0]!.error?.stack).toContain('at ');
    for (const entry of job.history) {
      expect(entry.at).toMatch(ISO_TIME);
      if (entry.state === 'queued' && !entry.retried_from) expect(entry.retry_at).toMatch(ISO_TIME);
    }
    expect(epochNumbers(job)).toEqual([]);
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
    expect(job.history).toEqual([
      expect.objectContaining({
        attempt: 1,
        state: 'failed',
        error: expect.objectContaining({ message: expect.stringContaining('invalid payload') }),
      }),
      expect.objectContaining({ attempt: 1, state: 'queued', retried_from: 'failed' }),
    ]);

    const before = await jobs(db);
    for (const [id, code, message] of [
      ['1', 1, 'is succeeded'],
      ['3', 1, 'is queued'],
      ['99', 1, 'no job 99'],
      ['x', 2, 'job id'],
    ] as const) {
      const run = await runCli(['retry', id, '--db', file]);
      expect(run.code, id).toBe(code);
      expect(run.stderr).toContain(message);
    }
    expect(await jobs(db)).toEqual(before);
  });

  it('cancel cancels a queued job, and refuses one that ended', async () => {
    const { file, db } = await queueWithHistory();
    const run = await runCli(['cancel', '3', '--db', file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('Job 3 cancelled.\n');
    const before = await jobs(db);
    expect(before[2]).toMatchObject({ state: 'cancelled' });
    for (const id of ['1', '3', '99']) expect((await runCli(['cancel', id, '--db', file])).code).toBe(1);
    expect(await jobs(db)).toEqual(before);
    expect((await runCli(['retry', '3', '--db', file])).code).toBe(0);
  });

  it('cancel stops a running generate_users job: it ends cancelled with none of its users written', async () => {
    const { file, id, db, worker } = await hashingWorker(tempDb().db, []);
    const run = await runCli(['cancel', String(id), '--db', file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('stops it at its next progress point');
    await waitFor(() => worker.stderr().includes(`Task generate_users[${id}] abandoned`), 'the worker to stop the job');

    // The worker carries on with other jobs.
    await enqueueJobs(file, [generateJob(50)]);
    await waitFor(async () => (await succeeded(db)) === 1, 'the next job');
    await stopCli(worker);
    expect((await jobs(db))[0]).toMatchObject({ state: 'cancelled' });
    expect(await db.count('select count(*) from users where job_id = ?', id)).toBe(0);
  });

  it('purge deletes ended jobs older than asked, keeping their users', async () => {
    const { file, db } = await queueWithHistory();
    expect(await json<{ deleted: number }>(['purge', '--state', 'succeeded', '--older-than', '1h', '--db', file])).toEqual({ deleted: 0 });
    const run = await runCli(['purge', '--state', 'succeeded', '--older-than', '0s', '--db', file]);
    expect(run.stdout).toBe('Deleted 1 succeeded job(s).\n');
    expect((await jobs(db)).map((job) => job.id)).toEqual([2, 3]);
    expect(await db.count('select count(*) from users where job_id is null')).toBe(50);
    const before = await jobs(db);
    for (const args of [
      ['--state', 'queued', '--older-than', '0s'],
      ['--state', 'failed'],
      ['--state', 'failed', '--older-than', 'soon'],
    ]) {
      expect((await runCli(['purge', ...args, '--db', file])).code, args.join(' ')).toBe(2);
    }
    expect(await jobs(db)).toEqual(before);
  });

  it('retry and cancel every job a filter selects (state, task, payload field); an id and a filter together, or neither, is refused', async () => {
    const { db: file } = tempDb();
    const payloads = ['a', 'a', 'b'].map((who) => ({ task: 'generate_users', payload: { total: 'lots', who } }));
    await enqueueJobs(file, [...payloads, { task: 'generate_users', payload: { total: 50, iterations: 1000 }, runAt: Date.now() + 3_600_000 }]);
    expect((await runCli(['worker', '--drain', '--db', file])).code).toBe(0);
    const db = await inspect(file);
    const states = async () => (await db.all<{ state: string }>('select state from jobs order by id')).map((row) => row.state);
    expect(await states()).toEqual(['failed', 'failed', 'failed', 'queued']);

    for (const [args, message] of [
      [['retry'], 'give a job id, or a filter (--state, --task, --payload) for every job it selects'],
      [['cancel', '1', '--task', 'generate_users'], 'give a job id or a filter (--state, --task, --payload), not both'],
      [['retry', '--state', 'queued'], "state must be one of failed, cancelled: only failed or cancelled jobs can be retried, got 'queued'"],
      [['retry', '--payload', 'who'], "--payload takes field=value (customer=acme), got 'who'"],
      [['jobs', '--payload', 'a.b=1'], "a payload field to match is a name of letters, digits and _, got 'a.b'"],
    ] as const) {
      const run = await runCli([...args, '--db', file]);
      expect({ code: run.code, stderr: run.stderr.trim() }, args.join(' ')).toEqual({ code: 2, stderr: `usergen: error: ${message}` });
    }
    expect(await states()).toEqual(['failed', 'failed', 'failed', 'queued']);

    const matched = await json<{ jobs: JobJson[] }>(['jobs', '--payload', 'who=a', '--db', file]);
    expect(matched.jobs.map((job) => job.id)).toEqual([2, 1]);
    expect(await json(['retry', '--state', 'failed', '--payload', 'who=a', '--db', file])).toEqual({ retried: 2 });
    expect(await states()).toEqual(['queued', 'queued', 'failed', 'queued']);
    const cancel = await runCli(['cancel', '--state', 'queued', '--task', 'generate_users', '--db', file]);
    expect(cancel.stdout.trim()).toBe('Cancelled 3 job(s); a running one stops at its next progress point.');
    expect(await states()).toEqual(['cancelled', 'cancelled', 'failed', 'cancelled']);
    const retried = await runCli(['retry', '--task', 'generate_users', '--db', file]);
    expect(retried.stdout.trim()).toBe('Retried 4 job(s): they are queued again.');
  });
});
