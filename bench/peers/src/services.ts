import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

// The servers BullMQ and graphile-worker need, from the machine's own packages, each started on a
// free loopback port in a temporary folder and stopped (the folder removed) after: redis-server
// with persistence off, PostgreSQL 15 with synchronous_commit=off (the durability the issue fixes
// for them).

export interface Service {
  port: number;
  version: string;
  stop(): Promise<void>;
}

const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

export class SetupError extends Error {}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function run(command: string, args: string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.error || result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
    throw new SetupError(`${command} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`})${output ? `:\n${output}` : ''}`);
  }
  return String(result.stdout ?? '');
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

const isRoot = () => process.getuid?.() === 0;

function installRedis(log: (line: string) => void): void {
  const command = 'apt-get install -y redis-server';
  if (!isRoot()) throw new SetupError(`redis-server is not installed; as root, run: ${command}`);
  const apt = (args: string[]) =>
    spawnSync('apt-get', args, { stdio: ['ignore', 2, 2], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  log(`redis-server: ${command}`);
  // A machine whose package lists were never fetched finds no candidate: fetch them once, retry.
  if (!apt(['install', '-y', 'redis-server'])) {
    log('redis-server: apt-get update, then again');
    if (!apt(['update']) || !apt(['install', '-y', 'redis-server'])) throw new SetupError(`${command} failed`);
  }
}

/** Answers once the server replies to PING, or throws after `timeoutMs`. */
async function redisReady(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pong = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
    });
    if (pong) return;
    if (Date.now() > deadline) throw new SetupError(`redis-server did not answer on port ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function startRedis(log: (line: string) => void): Promise<Service> {
  if (!onPath('redis-server')) installRedis(log);
  const version = /v=(\S+)/.exec(run('redis-server', ['--version']))?.[1] ?? 'unknown';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usergen-bench-redis-'));
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--logfile',
    path.join(dir, 'redis.log'),
  ];
  // Its own process group: a Ctrl-C in the terminal reaches the harness, which stops it in order.
  const server = spawn('redis-server', args, { stdio: 'ignore', detached: true });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await redisReady(port, 10_000);
  } catch (error) {
    await stop();
    throw error;
  }
  log(`redis-server ${version} on 127.0.0.1:${port} (--save "" --appendonly no)`);
  return { port, version, stop };
}

export async function startPostgres(log: (line: string) => void): Promise<Service> {
  if (!fs.existsSync(path.join(POSTGRES_BIN, 'pg_ctl'))) {
    throw new SetupError(`PostgreSQL 15 is not installed (no ${POSTGRES_BIN}/pg_ctl); as root, run: apt-get install -y postgresql-15`);
  }
  const version = run(path.join(POSTGRES_BIN, 'postgres'), ['--version'])
    .trim()
    .replace(/^postgres \(PostgreSQL\) /, '');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usergen-bench-postgres-'));
  // The server refuses to run as root: as root, it runs as the postgres user, who owns its folder.
  let asServer = (command: string, args: string[]) => run(command, args, { cwd: dir });
  if (isRoot()) {
    const [uid, gid] = [Number(run('id', ['-u', 'postgres'])), Number(run('id', ['-g', 'postgres']))];
    fs.chownSync(dir, uid, gid);
    asServer = (command, args) => run('runuser', ['-u', 'postgres', '--', command, ...args], { cwd: dir });
  }
  const data = path.join(dir, 'data');
  const port = await freePort();
  const pgCtl = path.join(POSTGRES_BIN, 'pg_ctl');
  let started = false;
  const stop = async () => {
    try {
      if (started) asServer(pgCtl, ['-D', data, '-m', 'fast', '-w', 'stop']);
    } finally {
      started = false;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    asServer(path.join(POSTGRES_BIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
    const settings = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c synchronous_commit=off`;
    started = true;
    asServer(pgCtl, ['-D', data, '-l', path.join(dir, 'postgres.log'), '-w', '-t', '60', '-o', settings, 'start']);
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
  log(`PostgreSQL ${version} on 127.0.0.1:${port} (synchronous_commit=off)`);
  return { port, version, stop };
}
