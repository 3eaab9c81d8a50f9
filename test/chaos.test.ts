import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open.js';
import type { JobStore } from '../src/store/store.js';
import { ENGINES } from './engines.js';
import { runCli, startCli, waitFor, type CliProcess } from './helpers.js';
import { watchWithShell } from './sqlite-clients.js';

// The promise under fire: 40 generate jobs, 3 worker processes, one of them SIGKILLed every 1-2 s
// for 20 s and replaced. Whatever was killed, each job's users are written once (with its
// completion, in one transaction), no job is left running, and a job fails only if every one of
// its attempts was lost with its worker.

const JOBS = 40;
const USERS_PER_JOB = 50;
const CHAOS_MS = 20_000;
// Slow enough that a kill lands mid-job (about 0.5 s of hashing a job here), fast enough to end.
const HASH_ITERATIONS = '40000';

async function counts(store: JobStore) {
  const users = await store.db
    .selectFrom('users')
    .select((eb) => [eb.fn.countAll<number>().as('all'), eb.fn.count<number>('username').distinct().as('names')])
    .executeTakeFirstOrThrow();
  const jobs = await store.db.selectFrom('jobs').select(['id', 'state', 'payload', 'history', 'attempts']).execute();
  return { users: Number(users.all), names: Number(users.names), jobs };
}

describe.each(ENGINES)('chaos on $name', (engine) => {
  it(`${JOBS} jobs, 3 workers, one SIGKILLed every 1-2 s for ${CHAOS_MS / 1000} s: every user written once`, async () => {
    const db = await engine.database();
    // On a file, an operator watches it the whole time with the sqlite3 shell.
    const watcher = engine.name === 'sqlite' ? watchWithShell(db) : undefined;
    const env = { USERGEN_HASH_ITERATIONS: HASH_ITERATIONS };
    for (let i = 0; i < JOBS; i++) {
      const queued = await runCli(['generate', String(USERS_PER_JOB), '--db', db], { env });
      expect(queued.code, queued.stderr).toBe(0);
    }
    const start = () => startCli(['worker', '--db', db, '--concurrency', '2', '--lease', '2s', '--poll', '100ms', '--loglevel', 'warning'], { env });
    const workers: CliProcess[] = [start(), start(), start()];
    let kills = 0;
    const until = Date.now() + CHAOS_MS;
    while (Date.now() < until) {
      // The chaos itself runs on a clock: a kill every 1 to 2 s.
      await sleep(randomInt(1_000, 2_000));
      const victim = randomInt(workers.length);
      workers[victim]!.child.kill('SIGKILL');
      await workers[victim]!.exited;
      kills += 1;
      workers[victim] = start();
    }
    const store = await openStore(db, { create: false });
    try {
      await waitFor(async () => !(await store.hasUnfinishedJobs()), 'every job to end', 120_000, 200);
      // The last ones may still be starting (a SIGTERM before their handler is set kills them): the
      // end is a kill too.
      for (const worker of workers) worker.child.kill('SIGKILL');
      await Promise.all(workers.map((worker) => worker.exited));

      const { users, names, jobs } = await counts(store);
      const succeeded = jobs.filter((job) => job.state === 'succeeded');
      expect(kills).toBeGreaterThanOrEqual(10);
      // Kills landed mid-job: some job needed more than one attempt.
      expect(jobs.some((job) => job.attempts > 1)).toBe(true);
      expect(jobs.filter((job) => job.state === 'running')).toEqual([]);
      expect(users).toBe(succeeded.length * USERS_PER_JOB);
      expect(names).toBe(users);
      await watcher?.stop();
      for (const job of jobs.filter((row) => row.state === 'failed')) {
        const history = JSON.parse(job.history ?? '[]') as Array<{ error?: { name?: string } }>;
        expect(history.length, `job ${job.id} failed`).toBe(job.attempts);
        for (const entry of history) expect(['LeaseExpiredError', 'WorkerDiedError']).toContain(entry.error?.name);
      }
    } finally {
      await store.close();
    }
  });
});
