import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  count,
  generate,
  inspectDb,
  jobs,
  runCli,
  startCli,
  stopCli,
  succeeded,
  tempDb,
  waitFor,
  type CliProcess,
  type CliResult,
} from '../helpers.js';
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

describe('a killed worker on this host', () => {
  it('is not live at once, and generate --wait runs its own job here instead of waiting', async () => {
    const { file, id, db, worker } = await hashingWorker(['--lease', '1h'], 200);
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
    expect(db.prepare('select state, attempts, progress_current, locked_by from jobs where id = ?').get(id)).toEqual({
      state: 'queued',
      attempts: 1,
      progress_current: null,
      locked_by: null,
    });
  });

  it('has its job taken over at once by a worker with a long lease, the attempt counted and its error kept', async () => {
    const { file, id, db, worker } = await hashingWorker(['--lease', '1h'], 200);
    worker.child.kill('SIGKILL');
    await worker.exited;

    const second = startCli(['worker', '--db', file, '--lease', '1h']);
    await waitFor(() => succeeded(db) === 1, 'the second worker to take the job over');
    expect(count(db, 'select count(*) from workers')).toBe(1);
    await stopCli(second);

    expect(jobs(db)[0]).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(count(db, 'select count(*) from users where job_id = ?', id)).toBe(200);
    const history = JSON.parse(db.prepare('select history from jobs where id = ?').pluck().get(id) as string) as unknown[];
    expect(history).toEqual([
      expect.objectContaining({
        attempt: 1,
        state: 'queued',
        error: expect.objectContaining({ name: 'WorkerDiedError', message: expect.stringContaining(`:${worker.child.pid}:`) }),
      }),
    ]);
  });
});

describe('worker rows', () => {
  it('a row whose pid now belongs to a process started at another time is dead; a row from another boot is left to its lease', async () => {
    const { db: file } = tempDb();
    const [reusedJob, elsewhereJob] = await enqueueJobs(file, [generateJob(50), generateJob(50)]);
    const db = inspectDb(file);
    const now = Date.now();
    const hour = now + 3_600_000;
    const insertWorker = db.prepare(`insert into workers (id, host, pid, concurrency, started_at, last_heartbeat_at, alive_until, jobs_done,
      boot_id, pid_namespace, start_ticks) values (?, 'here', ?, 1, ?, ?, ?, 0, ?, ?, ?)`);
    // This test's own pid, alive, but not the process that registered: it started at another time.
    insertWorker.run('reused', process.pid, now, now, hour, BOOT_ID, PID_NAMESPACE, startTicksOf(process.pid) + 1);
    // No such pid here, but written in another boot (or another container): only the lease counts.
    insertWorker.run('elsewhere', 4_194_304 + 1, now, now, hour, 'another-boot-id', PID_NAMESPACE, 1);
    const lease = db.prepare(`update jobs set state = 'running', attempts = 1, locked_by = ?, locked_until = ?, started_at = ? where id = ?`);
    lease.run('reused', hour, now, reusedJob);
    lease.run('elsewhere', hour, now, elsewhereJob);

    expect((await liveWorkers(file)).map((worker) => worker.id)).toEqual(['elsewhere']);

    const drain = await runCli(['worker', '--drain', '--lease', '1h', '--db', file]);
    expect(drain.code, drain.stderr).toBe(0);
    expect(jobs(db).map((job) => [job.id, job.state, job.attempts])).toEqual([
      [reusedJob, 'succeeded', 2],
      [elsewhereJob, 'running', 1],
    ]);
    expect(db.prepare('select id from workers').pluck().all()).toEqual(['elsewhere']);
  });

  it('a worker records where it runs: boot, pid namespace and its start time', async () => {
    const { db: file } = tempDb();
    await generate(file, 50, '--delay', '1h');
    const worker = startCli(['worker', '--db', file]);
    const db = inspectDb(file);
    await waitFor(() => count(db, 'select count(*) from workers') === 1, 'the worker to register');
    const row = db.prepare('select pid, boot_id, pid_namespace, start_ticks from workers').get();
    expect(row).toEqual({ pid: worker.child.pid, boot_id: BOOT_ID, pid_namespace: PID_NAMESPACE, start_ticks: startTicksOf(worker.child.pid!) });
    await stopCli(worker);
  });
});
