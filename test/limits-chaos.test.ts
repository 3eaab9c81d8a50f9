import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open.js';
import { ENGINES } from './engines.js';
import { ROOT, startCli, tempDb, waitFor, type CliProcess } from './helpers.js';

// Limits under fire: 3 worker processes at concurrency 8 over a task limited to 2 at once, one
// limited to 5 starts a second, and one limited to 1 at once per key (20 keys); one worker
// SIGKILLed every 1-2 s for 20 s and replaced. From what each attempt logged (its handler's work,
// cut short at its worker's kill; the time its claim recorded): never more than 2 (resp. 1 per
// key) at once, never more than 5 claims in any second, every job ended, each effect once.

const TASKS = path.join(ROOT, 'test', 'fixtures', 'limited-tasks.mjs');
const CHAOS_MS = 20_000;

interface Logged {
  event: 'start' | 'end';
  task: string;
  job: number;
  attempt: number;
  key: string | null;
  pid: number;
  at: number;
  claimed?: number;
}

/** The most intervals open at once among `intervals` ([start, end]; an end at the same time as a start closes first). */
function mostAtOnce(intervals: Array<[number, number]>): number {
  const events = intervals.flatMap(
    ([start, end]): Array<[number, number]> => [
      [start, 1],
      [end, -1],
    ],
  );
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, change] of events) {
    open += change;
    most = Math.max(most, open);
  }
  return most;
}

describe.each(ENGINES)('limits under SIGKILL on $name', (engine) => {
  it(`3 workers, one SIGKILLed every 1-2 s for ${CHAOS_MS / 1000} s: no limit is ever exceeded, every job ends, each effect once`, async () => {
    const db = await engine.database();
    const log = path.join(tempDb().dir, 'limits.log');
    fs.writeFileSync(log, '');
    const store = await openStore(db);
    try {
      const enqueue = (task: string, payloads: object[]) => store.enqueueMany(payloads.map((payload) => ({ task, payload, maxAttempts: 20 })));
      await enqueue(
        'limited_pair',
        Array.from({ length: 80 }, () => ({ ms: randomInt(50, 150) })),
      );
      await enqueue(
        'limited_rate',
        Array.from({ length: 90 }, () => ({ ms: randomInt(10, 40) })),
      );
      // Their group key, as the definition's key function gives it at enqueue.
      await store.enqueueMany(
        Array.from({ length: 200 }, (_, n) => ({
          task: 'limited_group',
          payload: { key: `k${n % 20}`, ms: randomInt(30, 90) },
          maxAttempts: 20,
          groupKey: `k${n % 20}`,
        })),
      );

      const env = { USERGEN_TEST_LIMITS_LOG: log };
      const start = () =>
        startCli(['worker', '--db', db, '--tasks', TASKS, '--concurrency', '8', '--lease', '2s', '--poll', '50ms', '--loglevel', 'warning'], { env });
      const workers: CliProcess[] = [start(), start(), start()];
      const killedAt = new Map<number, number>();
      const until = Date.now() + CHAOS_MS;
      while (Date.now() < until) {
        // The chaos itself runs on a clock: a kill every 1 to 2 s.
        await sleep(randomInt(1_000, 2_000));
        const victim = randomInt(workers.length);
        workers[victim]!.child.kill('SIGKILL');
        killedAt.set(workers[victim]!.child.pid!, Date.now());
        await workers[victim]!.exited;
        workers[victim] = start();
      }
      await waitFor(async () => !(await store.hasUnfinishedJobs()), 'every job to end', 120_000, 200);
      for (const worker of workers) {
        worker.child.kill('SIGKILL');
        killedAt.set(worker.child.pid!, Date.now());
      }
      await Promise.all(workers.map((worker) => worker.exited));

      const jobs = await store.db.selectFrom('jobs').select(['id', 'task', 'state', 'attempts']).execute();
      expect(jobs.filter((job) => job.state !== 'succeeded')).toEqual([]);
      const effects = await store.db.selectFrom('users').select(['username', 'job_id']).execute();
      expect(effects.map((user) => Number(user.job_id)).sort((a, b) => a - b)).toEqual(jobs.map((job) => Number(job.id)).sort((a, b) => a - b));
      expect(
        jobs.some((job) => job.attempts > 1),
        'a kill landed mid-job',
      ).toBe(true);

      const lines = fs
        .readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Logged);
      const ends = new Map(lines.filter((line) => line.event === 'end').map((line) => [`${line.job}/${line.attempt}`, line.at]));
      const attempts = lines
        .filter((line) => line.event === 'start')
        .map((line) => ({ ...line, end: ends.get(`${line.job}/${line.attempt}`) ?? killedAt.get(line.pid) ?? Number.POSITIVE_INFINITY }));
      const ofTask = (task: string) => attempts.filter((attempt) => attempt.task === task);

      expect(mostAtOnce(ofTask('limited_pair').map((attempt) => [attempt.at, attempt.end]))).toBe(2);
      const byKey = new Map<string, typeof attempts>();
      for (const attempt of ofTask('limited_group')) byKey.set(attempt.key!, [...(byKey.get(attempt.key!) ?? []), attempt]);
      expect(byKey.size).toBe(20);
      for (const [key, ofKey] of byKey) expect(mostAtOnce(ofKey.map((attempt) => [attempt.at, attempt.end])), key).toBe(1);
      const claims = ofTask('limited_rate')
        .map((attempt) => attempt.claimed!)
        .sort((a, b) => a - b);
      expect(claims.length).toBeGreaterThanOrEqual(90);
      for (let i = 5; i < claims.length; i++) expect(claims[i]! - claims[i - 5]!, `claims ${i - 5} and ${i}`).toBeGreaterThanOrEqual(1_000);
    } finally {
      await store.close();
    }
  }, 180_000);
});
