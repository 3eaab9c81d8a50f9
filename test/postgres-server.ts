import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { installProblem, run } from './system-package.js';

// vitest globalSetup: runs once per `vitest run`, in the main process, before any test file. The
// PostgreSQL tests need a server; this one is started here, once a run, from the machine's
// PostgreSQL 15 (installed here when it is missing, as test/install-chromium.ts does chromium), in
// a temporary folder on a free loopback port, so that two runs at once (two checkouts on one
// machine) each have their own. test/postgres.ts gives each test a database of its own on it.
//
// A problem is handed to the tests (test/postgres.ts throws it in every test that needs the
// server) rather than thrown here: a throw would stop the whole run, and a user without root could
// not run the tests that need no PostgreSQL. A PostgreSQL test is never skipped: it fails, saying why.

export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';
const PG_CTL = path.join(POSTGRES_BIN, 'pg_ctl');

declare module 'vitest' {
  export interface ProvidedContext {
    /** The throwaway server's superuser URL (`postgres://postgres:<password>@127.0.0.1:<port>/postgres`), or null. */
    postgresUrl: string | null;
    /** Why there is no server (with the command that fixes it), or null. */
    postgresProblem: string | null;
  }
}

// The tests kill processes, never the machine: a server that skips fsync and full-page writes loses
// nothing they can observe, and starts and creates databases faster. Commits still wait for the WAL
// write (synchronous_commit=on), as a real deployment's do.
const SETTINGS = {
  listen_addresses: '127.0.0.1',
  max_connections: '300',
  fsync: 'off',
  synchronous_commit: 'on',
  full_page_writes: 'off',
  log_min_messages: 'warning',
};

/** A port free now on 127.0.0.1, as the OS hands them out. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface Server {
  url: string;
  /** Stops the server at once and removes its folder; synchronous, so an 'exit' handler can call it. */
  stop(): void;
  /** Restarts it on the same port: `fast` ends every session first (57P01), `immediate` kills them and recovers at start. */
  restart(mode: 'fast' | 'immediate'): Promise<void>;
}

export interface ServerOptions {
  /** Also listen on this address (an address of this machine), and let clients of `clients` (CIDR) in with the password. */
  alsoOn?: { address: string; clients: string };
}

/** A throwaway server in a folder of its own; its URL names 127.0.0.1 (or `alsoOn.address`). */
export async function startServer(options: ServerOptions = {}): Promise<Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usergen-postgres-'));
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'postgres.log');
  // The server refuses to run as root: as root, it runs as the postgres user, who owns its folder.
  let asServer = (command: string, args: string[]) => run(command, args, dir);
  let owner: { uid: number; gid: number } | undefined;
  if (process.getuid?.() === 0) {
    const [uid, gid] = ['-u', '-g'].map((flag) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout));
    if (!uid || !gid) throw new Error('this machine has no postgres user to run the server as (the postgresql-15 package makes one)');
    owner = { uid, gid };
    fs.chownSync(dir, uid, gid);
    asServer = (command, args) => run('runuser', ['-u', 'postgres', '--', command, ...args], dir);
  }
  let started = false;
  const stop = (): void => {
    if (started) {
      const args = ['-D', data, '-m', 'immediate', '-w', 'stop'];
      const [command, all] = owner ? ['runuser', ['-u', 'postgres', '--', PG_CTL, ...args]] : [PG_CTL, args];
      spawnSync(command, all, { cwd: dir, stdio: 'ignore' });
      started = false;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const password = crypto.randomBytes(18).toString('hex');
    const pwfile = path.join(dir, 'pwfile');
    fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (owner) fs.chownSync(pwfile, owner.uid, owner.gid);
    const initdb = await asServer(path.join(POSTGRES_BIN, 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      `--pwfile=${pwfile}`,
      '-A',
      'scram-sha-256',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
      '--no-instructions',
    ]);
    fs.rmSync(pwfile);
    if (initdb.code !== 0) throw new Error(`initdb failed (exit ${initdb.code}):\n${initdb.tail}`);
    const { alsoOn } = options;
    const listen = alsoOn ? `${SETTINGS.listen_addresses},${alsoOn.address}` : SETTINGS.listen_addresses;
    const settings = { ...SETTINGS, listen_addresses: listen, unix_socket_directories: dir };
    fs.appendFileSync(
      path.join(data, 'postgresql.conf'),
      Object.entries(settings)
        .map(([name, value]) => `${name} = '${value}'\n`)
        .join(''),
    );
    if (alsoOn) fs.appendFileSync(path.join(data, 'pg_hba.conf'), `host all all ${alsoOn.clients} scram-sha-256\n`);
    // The free port may be taken before the server binds it (another run asked the OS at the same
    // moment): then the server exits at once, and a new port is tried.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      started = true;
      const start = await asServer(PG_CTL, ['-D', data, '-l', log, '-o', `-p ${port}`, '-w', '-t', '60', 'start']);
      const restart = async (mode: 'fast' | 'immediate'): Promise<void> => {
        const again = await asServer(PG_CTL, ['-D', data, '-l', log, '-m', mode, '-w', '-t', '60', 'restart']);
        if (again.code !== 0) throw new Error(`pg_ctl restart -m ${mode} failed (exit ${again.code}):\n${again.tail}`);
      };
      if (start.code === 0) return { url: `postgres://postgres:${password}@${alsoOn?.address ?? '127.0.0.1'}:${port}/postgres`, stop, restart };
      const serverLog = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-4000) : '';
      if (attempt < 3 && /could not bind/.test(serverLog)) continue;
      throw new Error(`pg_ctl start failed (exit ${start.code}):\n${start.tail}\n${serverLog}`);
    }
  } catch (error) {
    stop();
    throw error;
  }
}

/**
 * Stops the server when the run ends without its teardown (Ctrl-C, SIGTERM, process.exit): the
 * server is no child of this process, and would otherwise run on. Returns what removes the handlers.
 */
function stopOnExit(stop: () => void): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    stop();
    removeHandlers();
    // Listening for a signal takes away its default action, ending the process. vitest's own
    // handler ends it a moment later; should nothing, end it as the signal would have.
    setTimeout(() => process.kill(process.pid, signal), 1000);
  };
  const removeHandlers = (): void => {
    process.off('exit', stop);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.on('exit', stop);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return removeHandlers;
}

export default async function setup(project: TestProject): Promise<() => void> {
  let problem = await installProblem(PG_CTL, 'postgresql-15', 'the PostgreSQL tests need PostgreSQL 15');
  let server: Server | undefined;
  if (!problem) {
    try {
      server = await startServer();
    } catch (error) {
      problem = `the PostgreSQL tests need a server, and it did not start: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  project.provide('postgresUrl', server?.url ?? null);
  project.provide('postgresProblem', problem);
  if (!server) return () => {};
  const removeHandlers = stopOnExit(server.stop);
  return () => {
    removeHandlers();
    server.stop();
  };
}
