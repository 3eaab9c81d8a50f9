import { describe, expect, it } from 'vitest';
import { runCli, startWorker, stopCli, tempDb, waitFor } from '../helpers.js';
import { jobRow } from '../queue/behaviour-helpers.js';
import { enqueueJobs } from '../queue/enqueue.js';

describe('generate --delay', () => {
  it('a worker polling meanwhile leaves the job queued until its run_at, then runs it', async () => {
    const { db: file } = tempDb();
    await enqueueJobs(file, []);
    const { worker, db } = await startWorker(file, ['--poll', '50ms']);

    const run = await runCli(['generate', '50', '--delay', '2s', '--db', file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Queued job 1');
    const queued = await jobRow(db, 1);
    expect(queued.state).toBe('queued');
    // run_at is taken just before created_at, both in the enqueuing process.
    expect(queued.run_at - queued.created_at).toBeGreaterThan(1_900);
    expect(queued.run_at - queued.created_at).toBeLessThanOrEqual(2_000);

    // Every row seen before run_at must still be queued, though the worker claims every 50 ms.
    const early: string[] = [];
    await waitFor(
      async () => {
        const seenAt = Date.now();
        const row = await jobRow(db, 1);
        if (seenAt < row.run_at && row.state !== 'queued') early.push(`${row.state} ${row.run_at - seenAt} ms early`);
        return row.state === 'succeeded';
      },
      'the delayed job to run',
      15_000,
    );
    await stopCli(worker);

    expect(early).toEqual([]);
    const done = await jobRow(db, 1);
    expect(done.attempts).toBe(1);
    expect(done.started_at!).toBeGreaterThanOrEqual(done.run_at);
  });
});
