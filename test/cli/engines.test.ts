import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openStore } from '../../src/store/open.js';
import type { JobStore } from '../../src/store/store.js';
import { ENGINES } from '../engines.js';
import { ROOT, stopCli, waitFor } from '../helpers.js';
import { tempPgDatabase } from '../postgres.js';
import { engineCli, passwordForms, runWithoutSecrets, schemaObjects } from './engine-cli.js';
import { liveWorkers } from '../../src/queue/live-workers.js';

// The commands a user meets, run as the built CLI on each engine: the same flows, the same output.
// On PostgreSQL every run also checks that nothing it printed holds the database's password.

const GATED_TASKS = path.join(ROOT, 'test', 'fixtures', 'gated-tasks.mjs');

interface JobJson {
  id: number;
  task: string;
  state: string;
  attempts: number;
  payload: unknown;
  result: unknown;
  error: { name: string; message: string; stack?: string } | null;
  history: Array<{ attempt: number; state: string; retried_from?: string; error?: { message: string } }>;
}

interface StatusJson {
  counts: Record<string, number>;
  workers: Array<{ pid: number; concurrency: number }>;
}

/** Opens the test's database through the store (either engine), closed when the test ends. */
async function storeOf(db: string): Promise<JobStore> {
  const store = await openStore(db, { create: false });
  onTestFinished(() => store.close());
  return store;
}

async function jobStates(store: JobStore): Promise<Array<[number, string, number]>> {
  const rows = await store.db.selectFrom('jobs').select(['id', 'state', 'attempts']).orderBy('id').execute();
  return rows.map((row) => [row.id, row.state, row.attempts]);
}

async function usernames(store: JobStore): Promise<string[]> {
  return (await store.db.selectFrom('users').select('username').orderBy('id').execute()).map((row) => row.username);
}

/** The ids of the jobs a worker's log says it received. */
function received(log: string): number[] {
  return [...log.matchAll(/Task generate_users\[(\d+)\] received/g)].map((match) => Number(match[1]));
}

describe.each(ENGINES)('the CLI on $name', (engine) => {
  it('generate queues a job, --json prints it, and --wait with no worker alive runs its job itself', async () => {
    const cli = engineCli(await engine.database());
    const queued = await cli.run(['generate', '50']);
    expect(queued.code, queued.stderr).toBe(0);
    expect(queued.stdout).toBe('Queued job 1: generate 50 users.\n');
    expect(queued.stderr).toContain('No worker is running');
    const { job } = await cli.json<{ job: JobJson }>(['generate', '60']);
    expect(job).toMatchObject({ id: 2, task: 'generate_users', state: 'queued', attempts: 0, payload: { total: 60 } });

    const waited = await cli.run(['generate', '50', '--wait']);
    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.stdout).toBe('Queued job 3: generate 50 users.\n50 random users created with success!\n');
    const store = await storeOf(cli.db);
    expect(await jobStates(store)).toEqual([
      [1, 'queued', 0],
      [2, 'queued', 0],
      [3, 'succeeded', 1],
    ]);
    const made = await store.db.selectFrom('users').select('job_id').execute();
    expect(made.map((user) => user.job_id)).toEqual(Array(50).fill(3));
  });

  it('worker --drain works the queued jobs and exits 0; list shows the users in creation order, human and JSON', async () => {
    const cli = engineCli(await engine.database());
    for (const total of ['50', '60']) expect((await cli.run(['generate', total])).code).toBe(0);
    expect((await cli.run(['list'])).stdout).toBe('No users yet. Generate some with: usergen generate 50\n');

    const drained = await cli.run(['worker', '--drain', '--concurrency', '2']);
    expect(drained.code, drained.stderr).toBe(0);
    expect(drained.stderr).toContain('stopped: 2 succeeded, 0 failed');
    const store = await storeOf(cli.db);
    expect(await jobStates(store)).toEqual([
      [1, 'succeeded', 1],
      [2, 'succeeded', 1],
    ]);
    const names = await usernames(store);
    expect(names).toHaveLength(110);

    const human = await cli.run(['list']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('showing 1-50 of 110');
    expect([...human.stdout.matchAll(/│ (user_[A-Za-z]{10}) +│ \1@example\.com +│/g)].map((match) => match[1])).toEqual(names.slice(0, 50));
    const page = await cli.json<{ users: Array<{ username: string }>; total: number }>(['list']);
    expect(page.total).toBe(110);
    expect(page.users.map((user) => user.username)).toEqual(names.slice(0, 50));
    const last = await cli.run(['list', '--limit', '20', '--offset', '100']);
    expect(last.stdout).toContain('showing 101-110 of 110');
    const lastPage = await cli.json<{ users: Array<{ username: string }> }>(['list', '--limit', '20', '--offset', '100']);
    expect(lastPage.users.map((user) => user.username)).toEqual(names.slice(100));
    for (const output of [human.stdout, JSON.stringify(page)]) expect(output).not.toMatch(/password|pbkdf2/);
  });

  it('two workers started together on 6 jobs share them, and every job succeeds once', async () => {
    const cli = engineCli(await engine.database());
    // One job at a time each (a worker claims ahead only once its jobs have proved short), and
    // hashes slow enough (the six jobs keep this machine's two cores busy about 4 s) that neither
    // worker can drain them all before the other has started. A job's iterations are its payload's.
    const env = { USERGEN_HASH_ITERATIONS: '100000' };
    for (let i = 0; i < 6; i++) expect((await cli.run(['generate', '50'], { env })).code).toBe(0);
    const workers = [0, 1].map(() => cli.start(['worker', '--drain', '--concurrency', '1']));
    const ends = await Promise.all(workers.map((worker) => worker.exited));
    for (const end of ends) expect(end.code, end.stderr).toBe(0);

    const [first, second] = ends.map((end) => received(end.stderr));
    expect(first!.length).toBeGreaterThan(0);
    expect(second!.length).toBeGreaterThan(0);
    expect([...first!, ...second!].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    const store = await storeOf(cli.db);
    expect(await jobStates(store)).toEqual([1, 2, 3, 4, 5, 6].map((id) => [id, 'succeeded', 1]));
    const names = await usernames(store);
    expect(names).toHaveLength(300);
    expect(new Set(names).size).toBe(300);
  });

  it('jobs and job show the queue; a failed job is retried and succeeds; a queued job is cancelled', async () => {
    const cli = engineCli(await engine.database());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usergen-gate-'));
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    const gate = path.join(dir, 'open');
    expect((await cli.run(['generate', '50', '--wait'])).code).toBe(0);
    const store = await storeOf(cli.db);
    expect((await store.enqueue({ task: 'test_gated', payload: { gate }, maxAttempts: 1 })).id).toBe(2);
    expect((await cli.run(['generate', '50', '--delay', '1h'])).code).toBe(0);
    const work = () => cli.run(['worker', '--drain', '--tasks', GATED_TASKS]);
    expect((await work()).code).toBe(0);

    const listed = await cli.json<{ jobs: JobJson[] }>(['jobs']);
    expect(listed.jobs.map((job) => [job.id, job.task, job.state])).toEqual([
      [3, 'generate_users', 'queued'],
      [2, 'test_gated', 'failed'],
      [1, 'generate_users', 'succeeded'],
    ]);
    expect((await cli.json<{ jobs: JobJson[] }>(['jobs', '--state', 'failed'])).jobs.map((job) => job.id)).toEqual([2]);
    expect((await cli.run(['jobs'])).stdout).toMatch(/│ 2 +│ test_gated +│ failed .*Error: the gate .* is closed/);
    const failed = (await cli.json<{ job: JobJson }>(['job', '2'])).job;
    expect(failed).toMatchObject({ state: 'failed', attempts: 1, payload: { gate }, error: { message: `the gate ${gate} is closed` } });
    expect(failed.error?.stack).toContain('gated-tasks.mjs');
    expect((await cli.json<{ users: string[] }>(['job', '1'])).users).toEqual(await usernames(store));

    fs.writeFileSync(gate, '');
    const retried = await cli.run(['retry', '2']);
    expect(retried.stdout, retried.stderr).toBe('Job 2 is queued again.\n');
    const cancelled = await cli.run(['cancel', '3']);
    expect(cancelled.stdout, cancelled.stderr).toBe('Job 3 cancelled.\n');
    for (const [args, code] of [
      [['cancel', '3'], 1],
      [['retry', '1'], 1],
      [['job', '99'], 1],
      [['job', 'x'], 2],
    ] as const) {
      const refused = await cli.run([...args]);
      expect(refused.code, args.join(' ')).toBe(code);
      expect(refused.stderr).toMatch(/^usergen: error: [^\n]+\n$/);
    }
    expect((await work()).code).toBe(0);
    const done = (await cli.json<{ job: JobJson }>(['job', '2'])).job;
    expect(done).toMatchObject({ state: 'succeeded', attempts: 1, result: 'through the gate', error: null });
    expect(done.history.map((entry) => [entry.attempt, entry.state, entry.retried_from ?? entry.error?.message])).toEqual([
      [1, 'failed', `the gate ${gate} is closed`],
      [1, 'queued', 'failed'],
    ]);
    expect(await jobStates(store)).toEqual([
      [1, 'succeeded', 1],
      [2, 'succeeded', 1],
      [3, 'cancelled', 0],
    ]);
  });

  it('status counts the jobs per state and lists the live worker while it runs', async () => {
    const cli = engineCli(await engine.database());
    expect((await cli.run(['generate', '50', '--wait'])).code).toBe(0);
    expect((await cli.run(['generate', '50', '--delay', '1h'])).code).toBe(0);
    const idle = await cli.json<StatusJson>(['status']);
    expect(idle.counts).toEqual({ queued: 1, running: 0, succeeded: 1, failed: 0, cancelled: 0 });
    expect(idle.workers).toEqual([]);

    const worker = cli.start(['worker', '--concurrency', '3']);
    const store = await storeOf(cli.db);
    await waitFor(async () => (await liveWorkers(store)).length === 1, 'the worker to register');
    const live = await cli.json<StatusJson>(['status']);
    expect(live.workers).toEqual([expect.objectContaining({ pid: worker.child.pid, concurrency: 3 })]);
    const human = await cli.run(['status']);
    expect(human.stdout).toContain('Jobs: queued 1, running 0, succeeded 1, failed 0, cancelled 0');
    expect(human.stdout).toMatch(new RegExp(`│ ${worker.child.pid} +│ 3 +│`));
    await stopCli(worker);

    expect((await cli.json<StatusJson>(['status'])).workers).toEqual([]);
    expect((await cli.run(['status'])).stdout).toContain('No worker is running. Start one with: usergen worker');
  });

  it('status shows the next backup as /jobs does: the oldest backup job queued or running, and when it is due', async () => {
    const cli = engineCli(await engine.database());
    expect((await cli.run(['generate', '50', '--wait'])).code).toBe(0);
    expect((await cli.json<{ next_backup: unknown }>(['status'])).next_backup).toBeNull();
    expect((await cli.run(['status'])).stdout).toContain('Next backup: none queued');
    const store = await storeOf(cli.db);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usergen-next-backup-'));
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    const due = Date.parse('2099-01-01T00:00:00.000Z');
    const next = await store.enqueue({ task: 'backup', payload: { dir, keep: null }, maxAttempts: 1, runAt: due });
    await store.enqueue({ task: 'backup', payload: { dir, keep: null }, maxAttempts: 1, runAt: due + 3_600_000 });
    const status = await cli.json<{ next_backup: unknown }>(['status']);
    expect(status.next_backup).toEqual({ job_id: next.id, state: 'queued', run_at: '2099-01-01T00:00:00.000Z' });
    expect((await cli.run(['status'])).stdout).toContain(`Next backup: job ${next.id}, queued, due 2099-01-01 00:00:00 UTC`);
  });

  it('purge deletes the ended jobs older than asked, keeping their users', async () => {
    const cli = engineCli(await engine.database());
    for (let i = 0; i < 2; i++) expect((await cli.run(['generate', '50', '--wait'])).code).toBe(0);
    expect((await cli.run(['generate', '50', '--delay', '1h'])).code).toBe(0);
    expect(await cli.json<{ deleted: number }>(['purge', '--state', 'succeeded', '--older-than', '1h'])).toEqual({ deleted: 0 });
    const store = await storeOf(cli.db);
    expect((await jobStates(store)).map(([id]) => id)).toEqual([1, 2, 3]);

    const purged = await cli.run(['purge', '--state', 'succeeded', '--older-than', '0s']);
    expect(purged.stdout, purged.stderr).toBe('Deleted 2 succeeded job(s).\n');
    expect(await jobStates(store)).toEqual([[3, 'queued', 0]]);
    const users = await store.db.selectFrom('users').select('job_id').execute();
    expect(users).toHaveLength(100);
    expect(users.filter((user) => user.job_id !== null)).toEqual([]);
    expect((await cli.run(['purge', '--state', 'queued', '--older-than', '0s'])).code).toBe(2);
  });
});

describe('the CLI refuses on PostgreSQL', () => {
  it("a read-only command on a database without usergen's tables exits 1 with one line and creates nothing", async () => {
    const cli = engineCli(await tempPgDatabase());
    for (const args of [['list'], ['jobs'], ['status', '--json']]) {
      const run = await cli.run(args);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^usergen: error: [^\n]+\n$/);
    }
    expect(await schemaObjects(cli.db)).toEqual({ schemas: ['public'], tables: [] });
  });

  it('a wrong password exits 1 with one line that holds neither the wrong password nor the right one', async () => {
    const db = await tempPgDatabase();
    const wrong = new URL(db);
    wrong.password = 'not-the-password-9f3a';
    const secrets = [...passwordForms(db), ...passwordForms(wrong.href)];
    for (const args of [['list'], ['generate', '50'], ['worker', '--drain']]) {
      const run = await runWithoutSecrets([...args, '--db', wrong.href], secrets);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^usergen: error: [^\n]+\n$/);
      expect(run.stderr).toContain('password');
    }
    expect(await schemaObjects(db)).toEqual({ schemas: ['public'], tables: [] });
  });

  it('--pg-schema takes a plain lowercase name: Bad-Name exits 2 and creates nothing, another name holds its own tables', async () => {
    const cli = engineCli(await tempPgDatabase());
    for (const args of [['generate', '50'], ['list']]) {
      const run = await cli.run(['--pg-schema', 'Bad-Name', ...args]);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(/^usergen: error: --pg-schema [^\n]+\n$/);
    }
    expect(await schemaObjects(cli.db)).toEqual({ schemas: ['public'], tables: [] });

    expect((await cli.run(['--pg-schema', 'elsewhere', 'generate', '50', '--wait'])).code).toBe(0);
    expect((await cli.json<{ total: number }>(['--pg-schema', 'elsewhere', 'list'])).total).toBe(50);
    expect((await schemaObjects(cli.db)).schemas).toEqual(['elsewhere', 'public']);
    // The default schema was never made: a read there is refused, not answered empty.
    expect((await cli.run(['list'])).code).toBe(1);
  });
});
