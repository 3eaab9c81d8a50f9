import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINES } from '../engines.js';
import { FIXTURE_TASKS, jobs, runCli, startCli, startWorker, stopCli, tempDb, waitFor } from '../helpers.js';
import { inspect } from '../inspect.js';
import { enqueueJobs, generateJob } from './enqueue.js';

describe.each(ENGINES)('worker on $name', (engine) => {
  it('drains 30 jobs with --concurrency 4: each once, every user once', async () => {
    const file = await engine.database();
    const totals = Array.from({ length: 30 }, (_, i) => 50 + (i % 7));
    await enqueueJobs(
      file,
      totals.map((total) => generateJob(total)),
    );

    const run = await runCli(['worker', '--db', file, '--concurrency', '4', '--drain']);
    expect(run.code, run.stderr).toBe(0);

    const db = await inspect(file);
    const rows = await jobs(db);
    expect(rows.map((job) => [job.state, job.attempts])).toEqual(totals.map(() => ['succeeded', 1]));
    const sum = totals.reduce((a, b) => a + b, 0);
    expect(await db.count('select count(*) from users')).toBe(sum);
    expect(await db.count('select count(distinct username) from users')).toBe(sum);
    for (const [i, job] of rows.entries()) {
      expect(await db.count('select count(*) from users where job_id = ?', job.id)).toBe(totals[i]);
    }
    expect(run.stderr).toMatch(/Task generate_users\[1\] succeeded in \d+\.\d+s: '50 random users created with success!'/);
  });

  it('retries a failing job with backoff, fails a bad payload at once, and leaves a task it does not know queued', async () => {
    const file = await engine.database();
    const [flaky, alwaysFails, unknown, invalid] = await enqueueJobs(file, [
      { task: 'test_flaky', payload: { failures: 2 }, maxAttempts: 5 },
      { task: 'test_always_fails', payload: {}, maxAttempts: 3 },
      { task: 'no_such_task', payload: {} },
      { task: 'generate_users', payload: { total: 'lots' } },
    ]);
    const worker = startCli(['worker', '--db', file, '--tasks', FIXTURE_TASKS, '--poll', '10ms']);
    const db = await inspect(file);
    await waitFor(
      async () => (await db.count("select count(*) from jobs where state in ('succeeded', 'failed')")) === 3,
      'the three jobs it knows to end',
    );
    await stopCli(worker);

    const byId = new Map((await jobs(db)).map((job) => [job.id, job]));
    expect(byId.get(flaky!)).toMatchObject({ state: 'succeeded', attempts: 3, result: '"succeeded on attempt 3"' });

    const failed = byId.get(alwaysFails!)!;
    expect(failed).toMatchObject({ state: 'failed', attempts: 3 });
    const error = JSON.parse(failed.error!) as { name: string; message: string; stack: string };
    expect(error.message).toBe('this task always fails');
    expect(error.stack).toContain('tasks.mjs');

    expect(byId.get(unknown!)).toMatchObject({ state: 'queued', attempts: 0, error: null });
    expect(byId.get(invalid!)).toMatchObject({ state: 'failed', attempts: 1 });
    expect(JSON.parse(byId.get(invalid!)!.error!).message).toContain('total must be an integer from 50 to 500');
    expect(worker.stderr()).toContain(`Task test_flaky[${flaky}] retry: Retry in`);
  });

  it('writes its log to --logfile at --loglevel', async () => {
    const logfile = path.join(tempDb().dir, 'worker.log');
    const file = await engine.database();
    await enqueueJobs(file, [generateJob(50), { task: 'generate_users', payload: { total: 'lots' } }]);

    const quiet = await runCli(['worker', '--db', file, '--drain', '--loglevel', 'error', '--logfile', logfile]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    const log = fs.readFileSync(logfile, 'utf8');
    expect(log).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: ERROR\] Task generate_users\[2\] failed/m);
    expect(log).not.toContain('INFO');
    expect(fs.statSync(logfile).mode & 0o777).toBe(0o600);
  });

  it('an idle worker is woken by an enqueue from another process, not by its poll', async () => {
    const file = await engine.database();
    await enqueueJobs(file, []);
    const { worker, db } = await startWorker(file, ['--poll', '1h']);
    // A claim needs a wake-up from here on: the next poll is an hour away.
    for (const total of ['50', '51']) {
      expect((await runCli(['generate', total, '--db', file])).code).toBe(0);
      await waitFor(
        () => db.count("select count(*) from jobs where state = 'succeeded' and payload like ?", `%${total}%`),
        `job of ${total}`,
        10_000,
      );
    }
    await stopCli(worker);
  });
});
