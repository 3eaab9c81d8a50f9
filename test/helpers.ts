import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';
import { expect, onTestFinished } from 'vitest';
import { wakeFileOf } from '../src/store/sqlite/wake.js';
import { inspect, type Probe } from './inspect.js';

export { inspectDb } from './inspect.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = path.join(ROOT, 'bin', 'usergen.js');
export const FIXTURE_TASKS = path.join(ROOT, 'test', 'fixtures', 'tasks.mjs');

/** Cheap hashes for tests that are not about hashing cost. */
export const TEST_ITERATIONS = '1000';

/** A fresh folder with a database path in it; removed if the test passes, its path printed if not. */
export function tempDb(): { dir: string; db: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usergen-test-'));
  const db = path.join(dir, 'usergen.db');
  onTestFinished(({ task }) => {
    fs.rmSync(wakeFileOf(db), { force: true });
    if (task.result?.state === 'fail') console.error(`test files kept in ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, db };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<CliResult>;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  command?: string[];
}

const live = new Set<CliProcess>();

/** Starts the built CLI as a child process. */
export function startCli(args: string[], options: CliOptions = {}): CliProcess {
  const [command, ...prefix] = options.command ?? [process.execPath, BIN];
  const env: Record<string, string | undefined> = { ...process.env, USERGEN_HASH_ITERATIONS: TEST_ITERATIONS, ...options.env };
  if (!options.env || !('USERGEN_DB' in options.env)) delete env.USERGEN_DB;
  if (!options.env || !('USERGEN_DEBUG' in options.env)) delete env.USERGEN_DEBUG;
  const child = spawn(command!, [...prefix, ...args], { cwd: options.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const handle: CliProcess = {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited: new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        live.delete(handle);
        resolve({ code, signal, stdout, stderr });
      });
    }),
  };
  live.add(handle);
  return handle;
}

/** Runs the built CLI to its end. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).exited;
}

/** SIGTERM, then the exit: a long-running command must stop cleanly with code 0. */
export async function stopCli(handle: CliProcess): Promise<CliResult> {
  handle.child.kill('SIGTERM');
  const exit = await handle.exited;
  if (exit.code !== 0) throw new Error(`exit ${exit.code ?? exit.signal} after SIGTERM; stderr:\n${exit.stderr}`);
  return exit;
}

/** Kills every child still running and names them: a test must not leak a process. */
export async function killLeakedProcesses(): Promise<string[]> {
  const leaked = [...live];
  for (const handle of leaked) handle.child.kill('SIGKILL');
  await Promise.all(leaked.map((handle) => handle.exited));
  return leaked.map((handle) => handle.child.spawnargs.slice(2).join(' '));
}

/** Polls `condition` until it returns a truthy value, or fails after `timeoutMs`. */
export async function waitFor<T>(condition: () => T | Promise<T>, what: string, timeoutMs = 30_000, intervalMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export function count(db: BetterSqlite3.Database, sqlText: string, ...params: unknown[]): number {
  return db
    .prepare(sqlText)
    .pluck()
    .get(...params) as number;
}

export function succeeded(db: Probe): Promise<number> {
  return db.count("select count(*) from jobs where state = 'succeeded'");
}

/** `usergen generate <total> [flags]` on `file`, which must exit 0. */
export async function generate(file: string, total: number, ...flags: string[]): Promise<void> {
  const run = await runCli(['generate', String(total), ...flags, '--db', file]);
  expect(run.code, run.stderr).toBe(0);
}

/** Starts `usergen worker [args]` on the database at `location` and waits until it has registered (the `nth` worker there). */
export async function startWorker(location: string, args: string[] = [], nth = 1): Promise<{ worker: CliProcess; db: Probe }> {
  const worker = startCli(['worker', '--db', location, ...args]);
  const db = await inspect(location);
  await waitFor(async () => (await db.count('select count(*) from workers')) === nth, 'the worker to register');
  return { worker, db };
}

export interface JobRecord {
  id: number;
  task: string;
  state: string;
  attempts: number;
  max_attempts: number;
  error: string | null;
  result: string | null;
  payload: string;
}

export function jobs(db: Probe): Promise<JobRecord[]> {
  return db.all<JobRecord>('select * from jobs order by id');
}

/** The state letter of process `pid` (field 3 of /proc/<pid>/stat): `T` once it is stopped. */
function processState(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
}

/**
 * SIGSTOPs `worker` at a moment it holds no write open on the database: stopped inside a write (a
 * progress save, a heartbeat), it would block every other process (SQLite's one write lock) or
 * every writer of its rows (PostgreSQL's row locks) until it is woken.
 */
export async function pauseOutsideWrite(worker: CliProcess, db: Probe): Promise<void> {
  const pid = worker.child.pid!;
  await waitFor(async () => {
    worker.child.kill('SIGSTOP');
    await waitFor(() => processState(pid) === 'T', 'the worker to stop');
    if (!(await db.writeHeldElsewhere())) return true;
    worker.child.kill('SIGCONT');
    return false;
  }, 'the worker to be stopped outside a write');
}
