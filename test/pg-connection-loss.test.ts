import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open.js';
import { ROOT, runCli, startCli, stopCli, tempDb, waitFor, type CliProcess } from './helpers.js';
import { postgresUrl, tempPgDatabase } from './postgres.js';
import { startServer, type Server } from './postgres-server.js';

// A PostgreSQL connection lost under a process (the server restarted, a session ended by an
// administrator, the network cut) fails the statement that needed it, never the process: a worker
// says so in one line, takes its connections anew, and nothing is lost or done twice.

const HELD_TASKS = path.join(ROOT, 'test', 'fixtures', 'held-tasks.mjs');

async function query<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

// A library user's transaction, ended by the server between two of its statements.
const HELD_TRANSACTION = `
  const { openQueue } = await import(${JSON.stringify(`${ROOT}/dist/index.js`)});
  const { sql } = await import('kysely');
  const { once } = await import('node:events');
  const queue = await openQueue({ db: process.argv[1] });
  // A signal listener keeps no process alive: once the connection is gone, this timer does.
  const alive = setInterval(() => {}, 1000);
  const go = once(process, 'SIGUSR2').finally(() => clearInterval(alive));
  try {
    await queue.transaction(async (tx) => {
      const { rows } = await sql\`select pg_backend_pid() as pid\`.execute(tx.db);
      console.log('pid ' + rows[0].pid);
      await go;
      await sql\`select 1\`.execute(tx.db);
    });
    console.log('committed');
  } catch (error) {
    console.log('failed: ' + error.message);
  }
  const two = await queue.transaction(async (tx) => (await sql\`select 2 as two\`.execute(tx.db)).rows[0].two);
  console.log('then ' + two);
  await queue.close();
`;

describe('a PostgreSQL connection lost while it is checked out', () => {
  it('fails the transaction that held it, not the process; the next query takes a new connection', async () => {
    const db = await tempPgDatabase();
    await runCli(['status', '--db', db]); // creates the schema
    const child = startCli([db], { command: [process.execPath, '--input-type=module', '-e', HELD_TRANSACTION] });
    const pid = Number(await waitFor(() => /pid (\d+)/.exec(child.stdout())?.[1], 'the transaction to begin'));
    await query(postgresUrl(), 'select pg_terminate_backend($1)', [pid]);
    await waitFor(
      async () => (await query(postgresUrl(), 'select 1 from pg_stat_activity where pid = $1', [pid])).length === 0,
      'the session to end',
    );
    child.child.kill('SIGUSR2');
    const exit = await child.exited;
    expect(exit.stderr).toBe('');
    expect(exit.code, exit.stdout).toBe(0);
    expect(exit.stdout).toMatch(/^failed: .*(terminat|connection)/im);
    expect(exit.stdout).toContain('then 2');
  });
});

/** A TCP proxy to `target` that can cut every connection through it at once, as a network failure would. */
async function startProxy(target: URL): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxied = new URL(target.href);
  proxied.port = String((server.address() as net.AddressInfo).port);
  return {
    url: proxied.href,
    cut: () => {
      for (const socket of sockets) socket.resetAndDestroy();
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('workers while the server restarts or the network is cut', () => {
  // A server of this file's own: restarting the suite's would end other files' connections.
  let server: Server;
  beforeAll(async () => {
    server = await startServer();
  }, 60_000);
  afterAll(() => server?.stop());

  /** A database of its own on the server, reached directly and through a proxy that can cut the network; dropped after `work`. */
  async function withDatabase(work: (direct: URL, proxy: Awaited<ReturnType<typeof startProxy>>) => Promise<void>): Promise<void> {
    const name = `usergen_loss_${crypto.randomBytes(6).toString('hex')}`;
    await query(server.url, `create database ${name}`);
    const direct = new URL(server.url);
    direct.pathname = `/${name}`;
    const proxy = await startProxy(direct);
    try {
      await work(direct, proxy);
    } finally {
      await proxy.close();
      await query(server.url, `drop database if exists ${name} with (force)`);
    }
  }

  it('a cut network between the start-up check and the registration: the worker waits, registers, and works', async () => {
    const { dir } = tempDb();
    await withDatabase(async (direct, proxy) => {
      // Holds the registration's insert (SHARE mode lets the check's reads through) until released.
      const locker = new pg.Client({ connectionString: direct.href });
      try {
        await (await openStore(direct.href)).close(); // the schema
        await locker.connect();
        await locker.query('begin');
        await locker.query('lock table usergen.workers in share mode');
        const worker = startCli(['worker', '--db', proxy.url, '--concurrency', '1', '--poll', '50ms', '--tasks', HELD_TASKS]);
        const waiting = "select 1 from pg_stat_activity where wait_event_type = 'Lock' and query ilike 'insert into%workers%'";
        await waitFor(async () => (await query(direct.href, waiting)).length > 0, 'the registration to wait for its lock');
        proxy.cut();
        await waitFor(() => worker.stderr().includes('registering the worker failed: cannot reach'), 'the worker to say it cannot reach the server');
        await locker.query('commit');
        await waitFor(async () => (await query(direct.href, 'select id from usergen.workers')).length === 1, 'the worker to register');
        expect(worker.child.exitCode, worker.stderr()).toBe(null);
        const marker = path.join(dir, 'ran');
        const store = await openStore(direct.href, { create: false });
        try {
          const { id } = await store.enqueue({ task: 'test_held_in_commit', payload: { marker, release: marker }, maxAttempts: 1 });
          await waitFor(async () => (await store.getJob(id))?.state === 'succeeded', 'the job to succeed');
        } finally {
          await store.close();
        }
        const exit = await stopCli(worker);
        expect(exit.stderr).toContain('registering the worker works again');
        expect(exit.stderr).not.toMatch(/^\s+at /m);
        expect(exit.stderr).not.toContain(new URL(server.url).password);
      } finally {
        await locker.end().catch(() => {});
      }
    });
  });

  const JOBS = 16;

  it.each([
    ['a fast restart', 'fast'],
    ['an immediate restart', 'immediate'],
    ['a cut network', 'cut'],
  ] as const)(
    '%s mid-drain, on claims and on a completion held open: the workers go on, one line each, nothing lost or done twice',
    async (_name, disruption) => {
      const { dir } = tempDb();
      await withDatabase(async (direct, proxy) => {
        const db = disruption === 'cut' ? proxy.url : direct.href;
        const marker = path.join(dir, 'held');
        const release = path.join(dir, 'release');
        const store = await openStore(direct.href);
        let heldJob: number;
        try {
          heldJob = (await store.enqueue({ task: 'test_held_in_commit', payload: { marker, release }, maxAttempts: 5 })).id;
          for (let i = 0; i < JOBS; i++) await store.enqueue({ task: 'generate_users', payload: { total: 50, iterations: 20_000 }, maxAttempts: 5 });
        } finally {
          await store.close();
        }
        const start = (): CliProcess =>
          startCli(['worker', '--db', db, '--concurrency', '2', '--poll', '50ms', '--lease', '3s', '--tasks', HELD_TASKS]);
        const workers = [start(), start()];
        await waitFor(() => fs.existsSync(marker), 'a worker to hold its completion open');
        // Both past their start-up check, which a worker that cannot reach the server exits on.
        await waitFor(() => workers.every((worker) => worker.stderr().includes(' ready: ')), 'both workers to be ready');

        if (disruption === 'cut') proxy.cut();
        else await server.restart(disruption);
        fs.writeFileSync(release, '');

        const check = await openStore(direct.href, { create: false });
        try {
          await waitFor(async () => !(await check.hasUnfinishedJobs()), 'every job to end', 90_000, 100);
          const jobs = await check.db.selectFrom('jobs').select(['id', 'state', 'task']).execute();
          expect(jobs.filter((job) => job.state !== 'succeeded')).toEqual([]);
          const users = await check.db.selectFrom('users').select(['username', 'job_id']).execute();
          expect(new Set(users.map((user) => user.username)).size).toBe(users.length);
          // The held attempt's first user went with its transaction; the next attempt wrote both.
          expect(users.filter((user) => user.job_id === heldJob).map((user) => user.username)).toEqual([
            `user_h${heldJob}a2n0`,
            `user_h${heldJob}a2n1`,
          ]);
          expect(users).toHaveLength(2 + JOBS * 50);
        } finally {
          await check.close();
        }
        for (const worker of workers) expect(worker.child.exitCode, worker.stderr()).toBe(null);
        const exits = await Promise.all(workers.map(stopCli));
        const log = exits.map((exit) => exit.stderr).join('');
        // One line each, no stack, no crash; and never the password.
        expect(log).not.toMatch(/^\s+at /m);
        expect(log).not.toMatch(/Unhandled|uncaught/i);
        expect(log).not.toContain(new URL(server.url).password);
        expect(log).toMatch(/cannot reach|Connection terminated|terminating connection|connection error/);
      });
    },
  );
});
