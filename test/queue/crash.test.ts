import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { count, FIXTURE_TASKS, inspectDb, jobs, pauseOutsideWrite, startCli, stopCli, succeeded, tempDb, waitFor } from '../helpers.js';
import { watchWithShell } from '../sqlite-clients.js';
import { enqueueJobs, generateJob, hashingWorker, progressOf, SLOW_ITERATIONS } from './enqueue.js';

// Each with an operator watching the file through the sqlite3 shell the whole time (stopped, and
// its reads checked, when the test ends).

describe('crash recovery', () => {
  it('a job whose worker is killed while hashing is finished by another, users written once', async () => {
    const { file, id, db, worker: first } = await hashingWorker(['--lease', '2s']);
    watchWithShell(file);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(count(db, 'select count(*) from users')).toBe(0);

    const second = startCli(['worker', '--db', file, '--lease', '2s']);
    await waitFor(() => succeeded(db) === 1, 'the second worker to finish the job');
    await stopCli(second);

    expect(jobs(db)[0]).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(count(db, 'select count(*) from users where job_id = ?', id)).toBe(500);
    expect(count(db, 'select count(*) from users')).toBe(500);
  });

  it('a worker paused past its lease loses the job to another and writes nothing when it wakes', async () => {
    // Only the paused worker has a short lease. The other's is long, so that a stall of its own
    // event loop cannot lapse it and hand the job back to the paused worker once it wakes.
    const { file, id, db, worker: paused } = await hashingWorker(['--lease', '1s']);
    watchWithShell(file);
    await pauseOutsideWrite(paused, db);
    const other = startCli(['worker', '--db', file, '--lease', '1h']);
    await waitFor(() => succeeded(db) === 1, 'the other worker to finish the job');
    paused.child.kill('SIGCONT');
    await waitFor(() => paused.stderr().includes(`Task generate_users[${id}] abandoned`), 'the paused worker to give the job up');
    await Promise.all([stopCli(paused), stopCli(other)]);

    expect(jobs(db)[0]).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(count(db, 'select count(*) from users where job_id = ?', id)).toBe(500);
    expect(paused.stderr()).not.toContain(`Task generate_users[${id}] succeeded`);
  });

  it('a worker killed inside the final transaction leaves no partial users', async () => {
    const { dir, db: file } = tempDb();
    const marker = path.join(dir, 'in-commit');
    const [id] = await enqueueJobs(file, [{ task: 'test_hang_in_commit', payload: { total: 100, marker } }]);
    watchWithShell(file);
    const db = inspectDb(file);

    const first = startCli(['worker', '--db', file, '--lease', '2s', '--tasks', FIXTURE_TASKS]);
    await waitFor(() => fs.existsSync(marker), 'the first worker to be inside its commit');
    // The 100 rows are written but not committed: nobody else sees them.
    expect(count(db, 'select count(*) from users')).toBe(0);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = startCli(['worker', '--db', file, '--lease', '2s', '--tasks', FIXTURE_TASKS]);
    await waitFor(() => succeeded(db) === 1, 'the second worker to finish the job');
    await stopCli(second);

    expect(jobs(db)[0]).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(count(db, 'select count(*) from users where job_id = ?', id)).toBe(100);
    expect(count(db, "select count(*) from users where username like 'user_j%a2n%'")).toBe(100);
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM lets running jobs finish, then exits 0', async () => {
    const { db: file } = tempDb();
    const ids = await enqueueJobs(file, [generateJob(100, SLOW_ITERATIONS), generateJob(100, SLOW_ITERATIONS)]);
    watchWithShell(file);
    const db = inspectDb(file);
    const worker = startCli(['worker', '--db', file, '--concurrency', '2']);
    await waitFor(() => ids.every((id) => progressOf(db, id) > 0), 'both jobs to be hashing');
    await stopCli(worker);

    expect(jobs(db).map((job) => job.state)).toEqual(['succeeded', 'succeeded']);
    expect(count(db, 'select count(*) from users')).toBe(200);
    expect(count(db, 'select count(*) from workers')).toBe(0);
  });

  it('jobs still running when the grace period ends go back to the queue, attempt not counted, progress dropped', async () => {
    const { file, id, db, worker } = await hashingWorker(['--grace', '1ms']);
    watchWithShell(file);
    const exit = await stopCli(worker);

    expect(jobs(db)[0]).toMatchObject({ state: 'queued', attempts: 0, progress_current: null, progress_total: null, history: null });
    expect(count(db, 'select count(*) from users')).toBe(0);
    expect(exit.stderr).toContain(`Task generate_users[${id}] returned to the queue`);
  });
});
