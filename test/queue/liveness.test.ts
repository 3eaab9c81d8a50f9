import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENGINES } from '../engines.js';
import { generate, jobs, runCli, startCli, startWorker, stopCli, succeeded, waitFor, type CliProcess, type CliResult } from '../helpers.js';
import { inspect } from '../inspect.js';
import { enqueueJobs, generateJob, hashingWorker } from './enqueue.js';

// A worker on this host whose process is gone is dead at once: no lease to wait out. "This host"
// is this boot and this pid namespace; for a worker anywhere else the lease alone decides.

const BOOT_ID = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const PID_NAMESPACE = fs.readlinkSync('/proc/self/ns/pid');

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function startTicksOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

/** Resolves `process`'s exit into a value waitFor can poll. */
function exitOf(process: CliProcess): () => CliResult | undefined {
  let exit: CliResult | undefined;
  void process.exited.then((result) => (exit = result));
  return () => exit;
}

interface StatusJson {
  workers: Array<{ id: string; pid: number }>;
}

async function liveWorkers(file: string): Promise<StatusJson['workers']> {
  const run = await runCli(['status', '--json', '--db', file]);
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as StatusJson).workers;
}

describe.each(ENGINES)('a killed worker on this host, on $name', (engine) => {
  it('is not live at once, and generate --wait runs its own job here instead of waiting', async () => {
    const { file, id, db, worker } = await hashingWorker(await engine.database(), ['--lease', '1h'], 200);
    expect(await liveWorkers(file)).toEqual([expect.objectContaining({ pid: worker.child.pid })]);
    worker.child.kill('SIGKILL');
    await worker.exited;

    expect(await liveWorkers(file)).toEqual([]);
    // With the dead worker taken for alive, this would wait out its hour-long lease.
    const waiting = startCli(['generate', '50', '--wait', '--db', file]);
    const exit = await waitFor(exitOf(waiting), 'generate --wait to run its job in its own process');
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stdout).toContain('50 random users created with success!');
    // Its claim, finding nothing more, put the dead worker's job back, stale progress dropped.
    expect(await db.one('select state, attempts, progress_current, locked_by from jobs where id = ?', id)).toEqual({
      state: 'queued',
      attempts: 1,
      progress_current: null,
      locked_by: null,
    });
  });

  it('has its job taken over at once by a worker with a long lease, the attempt counted and its error kept', async () => {
    const { file, id, db, worker } = await hashingWorker(await engine.database(), ['--lease', '1h'], 200);
    worker.child.kill('SIGKILL');
    await worker.exited;

    const second = startCli(['worker', '--db', file, '--lease', '1h']);
    await waitFor(async () => (await succeeded(db)) === 1, 'the second worker to take the job over');
    expect(await db.count('select count(*) from workers')).toBe(1);
    await stopCli(second);

    expect((await jobs(db))[0]).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(await db.count('select count(*) from users where job_id = ?', id)).toBe(200);
    const { history } = (await db.one<{ history: string }>('select history from jobs where id = ?', id))!;
    expect(JSON.parse(history)).toEqual([
      expect.objectContaining({
        attempt: 1,
        state: 'queued',
        error: expect.objectContaining({ name: 'WorkerDiedError', message: expect.stringContaining(`:${worker.child.pid}:`) }),
      }),
    ]);
  });
});

describe.each(ENGINES)('worker rows on $name', (engine) => {
  it('a row whose pid now belongs to a process started at another time is dead; a row from another boot is left to its lease', async () => {
    const file = await engine.database();
    const [reusedJob, elsewhereJob] = await enqueueJobs(file, [generateJob(50), generateJob(50)]);
    const db = await inspect(file);
    const now = Date.now();
    const hour = now + 3_600_000;
    const insertWorker = (...values: unknown[]) =>
      db.run(
        `insert into workers (id, host, pid, concurrency, started_at, last_heartbeat_at, alive_until, jobs_done,
        boot_id, pid_namespace, start_ticks) values (?, 'here', ?, 1, ?, ?, ?, 0, ?, ?, ?)`,
        ...values,
      );
    // This test's own pid, alive, but not the process that registered: it started at another time.
    await insertWorker('reused', process.pid, now, now, hour, BOOT_ID, PID_NAMESPACE, startTicksOf(process.pid) + 1);
    // No such pid here, but written in another boot (or another container): only the lease counts.
    await insertWorker('elsewhere', 4_194_304 + 1, now, now, hour, 'another-boot-id', PID_NAMESPACE, 1);
    const lease = (...values: unknown[]) =>
      db.run(`update jobs set state = 'running', attempts = 1, locked_by = ?, locked_until = ?, started_at = ? where id = ?`, ...values);
    await lease('reused', hour, now, reusedJob);
    await lease('elsewhere', hour, now, elsewhereJob);

    expect((await liveWorkers(file)).map((worker) => worker.id)).toEqual(['elsewhere']);

    const drain = await runCli(['worker', '--drain', '--lease', '1h', '--db', file]);
    expect(drain.code, drain.stderr).toBe(0);
    expect((await jobs(db)).map((job) => [job.id, job.state, job.attempts])).toEqual([
      [reusedJob, 'succeeded', 2],
      [elsewhereJob, 'running', 1],
    ]);
    expect(await db.all('select id from workers')).toEqual([{ id: 'elsewhere' }]);
  });

  it('a worker records where it runs: boot, pid namespace and its start time', async () => {
    const file = await engine.database();
    await generate(file, 50, '--delay', '1h');
    const { worker, db } = await startWorker(file);
    const row = await db.one('select pid, boot_id, pid_namespace, start_ticks from workers');
    expect(row).toEqual({ pid: worker.child.pid, boot_id: BOOT_ID, pid_namespace: PID_NAMESPACE, start_ticks: startTicksOf(worker.child.pid!) });
    await stopCli(worker);
  });
});
