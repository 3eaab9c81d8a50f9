import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINES } from '../engines.js';
import { FIXTURE_TASKS, jobs, pauseOutsideWrite, startCli, stopCli, succeeded, tempDb, waitFor } from '../helpers.js';
import { inspect } from '../inspect.js';
import { watchedByOperator } from './behaviour-helpers.js';
import { enqueueJobs, generateJob, hashingWorker, progressOf, SLOW_ITERATIONS } from './enqueue.js';

describe.each(ENGINES)('crash recovery on $name', (engine) => {
  it('a job whose worker is killed while hashing is finished by another, users written once', async () => {
    const { file, id, db, worker: first } = await hashingWorker(await engine.database(), ['--lease', '2s']);
    watchedByOperator(engine, file);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(await db.count('select count(*) from users')).toBe(0);

    const second = startCli(['worker', '--db', file, '--lease', '2s']);
    await waitFor(async () => (await succeeded(db)) === 1, 'the second worker to finish the job');
    await stopCli(second);

    expect((await jobs(db))[0]).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(await db.count('select count(*) from users where job_id = ?', id)).toBe(500);
    expect(await db.count('select count(*) from users')).toBe(500);
  });

  it('a worker paused past its lease loses the job to another and writes nothing when it wakes', async () => {
    // Only the paused worker has a short lease. The other's is long, so that a stall of its own
    // event loop cannot lapse it and hand the job back to the paused worker once it wakes.
    const { file, id, db, worker: paused } = await hashingWorker(await engine.database(), ['--lease', '1s']);
    watchedByOperator(engine, file);
    await pauseOutsideWrite(paused, db);
    const other = startCli(['worker', '--db', file, '--lease', '1h']);
    await waitFor(async () => (await succeeded(db)) === 1, 'the other worker to finish the job');
    paused.child.kill('SIGCONT');
    await waitFor(() => paused.stderr().includes(`Task generate_users[${id}] abandoned`), 'the paused worker to give the job up');
    await Promise.all([stopCli(paused), stopCli(other)]);

    expect((await jobs(db))[0]).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(await db.count('select count(*) from users where job_id = ?', id)).toBe(500);
    expect(paused.stderr()).not.toContain(`Task generate_users[${id}] succeeded`);
  });

  it('a worker killed inside the final transaction leaves no partial users', async () => {
    const marker = path.join(tempDb().dir, 'in-commit');
    const file = await engine.database();
    const [id] = await enqueueJobs(file, [{ task: 'test_hang_in_commit', payload: { total: 100, marker } }]);
    watchedByOperator(engine, file);
    const db = await inspect(file);

    const first = startCli(['worker', '--db', file, '--lease', '2s', '--tasks', FIXTURE_TASKS]);
    await waitFor(() => fs.existsSync(marker), 'the first worker to be inside its commit');
    // The 100 rows are written but not committed: nobody else sees them.
    expect(await db.count('select count(*) from users')).toBe(0);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = startCli(['worker', '--db', file, '--lease', '2s', '--tasks', FIXTURE_TASKS]);
    await waitFor(async () => (await succeeded(db)) === 1, 'the second worker to finish the job');
    await stopCli(second);

    expect((await jobs(db))[0]).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(await db.count('select count(*) from users where job_id = ?', id)).toBe(100);
    expect(await db.count("select count(*) from users where username like 'user_j%a2n%'")).toBe(100);
  });
});

describe.each(ENGINES)('graceful shutdown on $name', (engine) => {
  it('SIGTERM lets running jobs finish, then exits 0', async () => {
    const file = await engine.database();
    const ids = await enqueueJobs(file, [generateJob(100, SLOW_ITERATIONS), generateJob(100, SLOW_ITERATIONS)]);
    watchedByOperator(engine, file);
    const db = await inspect(file);
    const worker = startCli(['worker', '--db', file, '--concurrency', '2']);
    await waitFor(async () => (await Promise.all(ids.map((id) => progressOf(db, id)))).every((progress) => progress > 0), 'both jobs to be hashing');
    await stopCli(worker);

    expect((await jobs(db)).map((job) => job.state)).toEqual(['succeeded', 'succeeded']);
    expect(await db.count('select count(*) from users')).toBe(200);
    expect(await db.count('select count(*) from workers')).toBe(0);
  });

  it('jobs still running when the grace period ends go back to the queue, attempt not counted, progress dropped', async () => {
    const { file, id, db, worker } = await hashingWorker(await engine.database(), ['--grace', '1ms']);
    watchedByOperator(engine, file);
    const exit = await stopCli(worker);

    expect((await jobs(db))[0]).toMatchObject({ state: 'queued', attempts: 0, progress_current: null, progress_total: null, history: null });
    expect(await db.count('select count(*) from users')).toBe(0);
    expect(exit.stderr).toContain(`Task generate_users[${id}] returned to the queue`);
  });
});
