import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openStore } from '../src/store/open.js';
import { BIN, ROOT, runCli, startCli, waitFor, type CliProcess } from './helpers.js';
import { startServer, type Server } from './postgres-server.js';
import { liveWorkers } from '../src/queue/live-workers.js';

// Workers on many machines, simulated on this one: three hosts, each a network namespace with an
// address of its own (test/multihost/hosts.sh), a pid namespace and a hostname of its own, reach one
// PostgreSQL server over the bridge. Every process of one host is killed mid-run; the other hosts
// take its jobs once their leases run out, and every job's users are written once.

const HOSTS = 3;
const HOSTS_SCRIPT = path.join(ROOT, 'test', 'multihost', 'hosts.sh');
const BRIDGE_ADDRESS = '10.77.0.1';
const LEASE_MS = 4_000;
const JOBS = 24;
const USERS_PER_JOB = 50;

let server: Server | undefined;

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('the many-hosts test makes network namespaces (ip netns): run the tests as root');
  execFileSync(HOSTS_SCRIPT, ['up', String(HOSTS)], { stdio: 'inherit' });
  server = await startServer({ alsoOn: { address: BRIDGE_ADDRESS, clients: '10.77.0.0/24' } });
}, 60_000);

afterAll(() => {
  server?.stop();
  execFileSync(HOSTS_SCRIPT, ['down'], { stdio: 'inherit' });
});

/** Two `usergen worker` processes on host `n`: one pid namespace, so one kill ends them all. */
function startHost(n: number, db: string, env: Record<string, string>): CliProcess {
  const worker = `"${process.execPath}" "${BIN}" worker --db "$USERGEN_TEST_DB" --concurrency 2 --lease ${LEASE_MS / 1000}s --poll 200ms --loglevel warning`;
  return startCli([], {
    command: [
      'ip',
      'netns',
      'exec',
      `usergen-host${n}`,
      'unshare',
      '--pid',
      '--fork',
      '--kill-child',
      '--mount-proc',
      '--uts',
      'sh',
      '-c',
      `hostname usergen-host${n} && ${worker} & ${worker} & wait`,
    ],
    env: { ...env, USERGEN_TEST_DB: db },
  });
}

describe('workers on three hosts, one PostgreSQL server', () => {
  it('every process of one host killed mid-run: the other hosts take its jobs within a lease; every user written once', async () => {
    const admin = new pg.Client({ connectionString: server!.url });
    await admin.connect();
    await admin.query('create database multihost');
    await admin.end();
    const db = new URL(server!.url);
    db.pathname = '/multihost';
    const env = { USERGEN_HASH_ITERATIONS: '40000' };
    for (let i = 0; i < JOBS; i++) expect((await runCli(['generate', String(USERS_PER_JOB), '--db', db.href], { env })).code).toBe(0);

    const hosts = Array.from({ length: HOSTS }, (_, i) => startHost(i + 1, db.href, env));
    const store = await openStore(db.href, { create: false });
    try {
      const runningOn = async (host: string) =>
        (await store.db.selectFrom('jobs').select(['id', 'locked_by']).where('state', '=', 'running').execute()).filter((job) =>
          job.locked_by!.startsWith(`${host}:`),
        );
      // Every host works (each reached the server over its own address), and host 2 holds jobs.
      await waitFor(async () => (await liveWorkers(store)).length === 2 * HOSTS, 'six workers alive');
      const hostsSeen = new Set((await liveWorkers(store)).map((worker) => worker.host));
      expect([...hostsSeen].sort()).toEqual(['usergen-host1', 'usergen-host2', 'usergen-host3']);
      const orphans = await waitFor(async () => {
        const jobs = await runningOn('usergen-host2');
        return jobs.length >= 2 ? jobs : undefined;
      }, 'jobs running on host 2');

      hosts[1]!.child.kill('SIGKILL');
      await hosts[1]!.exited;
      const killedAt = Date.now();

      await waitFor(async () => !(await store.hasUnfinishedJobs()), 'every job to end', 180_000, 200);
      for (const host of [hosts[0]!, hosts[2]!]) host.child.kill('SIGKILL');
      await Promise.all(hosts.map((host) => host.exited));

      for (const { id } of orphans) {
        const job = (await store.getJob(id))!;
        expect(job.state, `job ${id}`).toBe('succeeded');
        expect(job.attempts).toBeGreaterThanOrEqual(2);
        // Taken again by another host once its lease ran out: within a lease of that.
        expect(job.started_at! - killedAt, `job ${id} started again`).toBeLessThanOrEqual(2 * LEASE_MS);
        expect(job.locked_by).toBeNull();
        // Through its lease, as on another machine: its worker's pid cannot be looked up from here.
        expect(JSON.parse(job.history!)[0]).toMatchObject({ attempt: 1, error: { name: 'LeaseExpiredError' } });
      }
      const jobs = await store.db.selectFrom('jobs').select(['state']).execute();
      const users = await store.db
        .selectFrom('users')
        .select((eb) => [eb.fn.countAll<number>().as('all'), eb.fn.count<number>('username').distinct().as('names')])
        .executeTakeFirstOrThrow();
      expect(jobs.filter((job) => job.state !== 'succeeded')).toEqual([]);
      expect(Number(users.all)).toBe(JOBS * USERS_PER_JOB);
      expect(Number(users.names)).toBe(JOBS * USERS_PER_JOB);
    } finally {
      await store.close();
    }
  });
});
