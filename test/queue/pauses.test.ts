import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { defineTask, UsageError } from '../../src/index.js';
import { queueOnEachTest } from '../engine-queue.js';
import { ENGINES } from '../engines.js';
import { FIXTURE_TASKS, runCli, startCli, stopCli, waitFor, type CliProcess } from '../helpers.js';

// A paused task: no worker on any machine claims its jobs (running ones finish), enqueue goes on,
// and on resume its jobs are claimed at once. Kept in the database, so every worker obeys it.

/** CPU time the process has used, user and system, in clock ticks (1/100 s): /proc/<pid>/stat fields 14 and 15. */
function cpuTicks(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

const asObject = (payload: unknown) => payload as Record<string, unknown>;
const noop = defineTask<Record<string, unknown>, string>({ name: 'test_noop', validate: asObject, handler: async () => 'ok' });
const flaky = defineTask<{ failures: number }, string>({
  name: 'test_flaky',
  validate: (payload) => payload as { failures: number },
  handler: async () => '',
});

describe.each(ENGINES)('pausing a task on $name', (engine) => {
  const current = queueOnEachTest(engine);

  it("3 workers claim none of a paused task's jobs for 5 s while they work others, then all of them once it is resumed", async () => {
    expect(await current.queue.pause(noop)).toMatchObject({ task: 'test_noop', paused: true, changed: true });
    const paused = await Promise.all(Array.from({ length: 30 }, (_, n) => current.queue.enqueue(noop, { n })));
    const workers: CliProcess[] = [];
    try {
      for (let n = 0; n < 3; n++) workers.push(startCli(['worker', '--db', current.location, '--tasks', FIXTURE_TASKS, '--concurrency', '4']));
      await waitFor(async () => (await current.db.count('select count(*) from workers')) === 3, 'the 3 workers to register');
      // Each round is a job of another task the workers claim and finish, past the paused ones.
      const until = Date.now() + 5_000;
      let rounds = 0;
      while (Date.now() < until) {
        expect(await current.queue.run(flaky, { failures: 0 }, { timeoutMs: 10_000 })).toBe('succeeded on attempt 1');
        rounds++;
      }
      expect(rounds).toBeGreaterThan(10);
      expect(await current.db.all("select state, attempts, count(*) as n from jobs where task = 'test_noop' group by state, attempts")).toEqual([
        { state: 'queued', attempts: 0, n: 30 },
      ]);
      const status = await current.queue.status();
      expect(status.paused_tasks).toEqual([{ task: 'test_noop', paused_at: expect.any(String), ready: 30 }]);
      expect(status.waiting_for_a_worker_that_knows_their_task).toEqual([]);

      expect(await current.queue.resume('test_noop')).toEqual({ task: 'test_noop', paused: false, paused_at: null, changed: true });
      expect(await Promise.all(paused.map((job) => current.queue.result(job)))).toEqual(paused.map(() => 'ok'));
      expect((await current.queue.status()).paused_tasks).toEqual([]);
    } finally {
      await Promise.all(workers.map(stopCli));
    }
  });

  it('pausing again keeps its first time, resuming a running task changes nothing, enqueue goes on, a bad name is refused', async () => {
    const first = await current.queue.pause('test_noop');
    const again = await current.queue.pause(noop);
    expect(again).toEqual({ ...first, changed: false });
    expect(await current.queue.resume('send_mail')).toEqual({ task: 'send_mail', paused: false, paused_at: null, changed: false });
    const job = await current.queue.enqueue(noop, {});
    expect(job.state).toBe('queued');
    const summary = await current.queue.worker({ tasks: [noop], concurrency: 1, drain: true }).run();
    expect(summary).toMatchObject({ succeeded: 0 });
    expect((await current.queue.getJob(job.id))?.state).toBe('queued');
    for (const bad of ['', 'x'.repeat(201), 5 as never]) await expect(current.queue.pause(bad)).rejects.toBeInstanceOf(UsageError);
    expect((await current.queue.status()).paused_tasks.map((row) => row.task)).toEqual(['test_noop']);
  });

  it('usergen pause and resume, and status that says which tasks are paused', async () => {
    await current.queue.enqueue(noop, {});
    const paused = await runCli(['pause', 'test_noop', '--db', current.location]);
    expect(paused.stdout).toBe('Paused task test_noop: no worker claims its jobs until `usergen resume test_noop` (running ones finish).\n');
    expect((await runCli(['pause', 'test_noop', '--db', current.location])).stdout).toMatch(/^Already paused: task test_noop/);
    const status = await runCli(['status', '--db', current.location]);
    expect(status.stdout).toMatch(
      /^Task test_noop is paused since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: 1 ready job\(s\) wait \(usergen resume test_noop\)\.$/m,
    );
    const json = JSON.parse((await runCli(['status', '--json', '--db', current.location])).stdout);
    expect(json.paused_tasks).toEqual([{ task: 'test_noop', paused_at: expect.stringMatching(/Z$/), ready: 1 }]);
    expect((await runCli(['resume', 'test_noop', '--db', current.location])).stdout).toBe('Resumed task test_noop: workers claim its jobs again.\n');
    expect((await runCli(['resume', 'test_noop', '--db', current.location])).stdout).toBe('Task test_noop was not paused.\n');
    expect(JSON.parse((await runCli(['resume', 'test_noop', '--json', '--db', current.location])).stdout)).toEqual({
      task: 'test_noop',
      paused: false,
      paused_at: null,
      changed: false,
    });
  });

  it('generate --wait on a paused task waits, idle, and finishes once another process resumes it', async () => {
    await runCli(['pause', 'generate_users', '--db', current.location]);
    const waiting = startCli(['generate', '50', '--wait', '--db', current.location]);
    try {
      await waitFor(async () => (await current.db.count("select count(*) from jobs where state = 'queued'")) === 1, 'the job to be queued');
      // Waiting is a read every 100 ms or so, not a claim tried again and again at once.
      // (A window to watch, not an event to await: what it used meanwhile is what is measured.)
      const start = cpuTicks(waiting.child.pid!);
      await sleep(2_000);
      expect(cpuTicks(waiting.child.pid!) - start, 'CPU ticks (1/100 s) used in 2 s of waiting').toBeLessThan(60);
      expect(await current.db.count("select count(*) from jobs where state = 'queued' and attempts = 0")).toBe(1);
      expect((await runCli(['resume', 'generate_users', '--db', current.location])).code).toBe(0);
      const exit = await waiting.exited;
      expect(exit.code, exit.stderr).toBe(0);
      expect(await current.db.count('select count(*) from users')).toBe(50);
    } finally {
      waiting.child.kill('SIGKILL');
    }
  });
});
