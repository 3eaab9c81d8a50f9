import { spawn, type ChildProcess } from 'node:child_process';
import { pbkdf2, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openQueue, type Queue } from '../../dist/index.js';
import { claimJobs } from '../../dist/queue/claim.js';
import { liveWorkers } from '../../dist/queue/live-workers.js';
import { jobSpec } from '../../dist/queue/task.js';
import { ResultWaits } from '../../dist/queue/results.js';
import { awaitJob } from '../../dist/queue/wait.js';
import { sql } from '../../dist/store/kysely.js';
import { openStore } from '../../dist/store/open.js';
import { wakeFileOf } from '../../dist/store/sqlite/wake.js';
import type { Durability, JobStore } from '../../dist/store/store.js';
import { generateUsers } from '../../dist/tasks/generate-users.js';
import { noop } from './noop-task.js';

// Each measurement runs the real queue path on a database of its own: an SQLite file in a temporary
// folder, or with --db a schema of its own in that PostgreSQL database.

const pbkdf2Async = promisify(pbkdf2);

interface Scratch {
  /** What `--db` takes. */
  location: string;
  /** What else a worker needs to find it (`--pg-schema` on PostgreSQL). */
  args: string[];
  store: JobStore;
  queue(): Promise<Queue>;
  close(): Promise<void>;
}

/** `--db`: measure on this PostgreSQL database (a schema of its own per measurement) instead of SQLite files. */
let postgresUrl: string | undefined;

export function measureOn(url: string | undefined): void {
  postgresUrl = url;
}

async function scratchDatabase(durability: Durability = 'full'): Promise<Scratch> {
  if (postgresUrl !== undefined) {
    const url = postgresUrl;
    const schema = `bench_${randomBytes(6).toString('hex')}`;
    const store = await openStore(url, { durability, pgSchema: schema });
    return {
      location: url,
      args: ['--pg-schema', schema],
      store,
      queue: () => openQueue({ db: url, durability, pgSchema: schema }),
      async close() {
        await sql`drop schema ${sql.id(schema)} cascade`.execute(store.db);
        await store.close();
      },
    };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usergen-bench-'));
  const file = path.join(dir, 'bench.db');
  const store = await openStore(file, { durability });
  return {
    location: file,
    args: [],
    store,
    queue: () => openQueue({ db: file, durability }),
    async close() {
      await store.close();
      fs.rmSync(wakeFileOf(file), { force: true });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function perSecond(count: number, ms: number): number {
  return Math.round((count * 1000) / ms);
}

/** `queue.enqueueMany()` (the public API), `chunk` jobs a call, each call one transaction. */
export async function enqueueManyRate(count: number, durability: Durability, chunk = 1_000): Promise<number> {
  const scratch = await scratchDatabase(durability);
  const queue = await scratch.queue();
  try {
    const payloads = Array.from({ length: chunk }, () => ({}));
    const started = performance.now();
    for (let done = 0; done < count; done += chunk) await queue.enqueueMany(noop, payloads.slice(0, Math.min(chunk, count - done)));
    return perSecond(count, performance.now() - started);
  } finally {
    await queue.close();
    await scratch.close();
  }
}

/**
 * A worker's claims, one job each, while `others` ready jobs of a task it does not run wait ahead
 * of its own (higher priority): what two task sets sharing one database cost each other.
 */
export async function claimsPastOthers(others: number, claims = 2_000): Promise<number> {
  const scratch = await scratchDatabase('normal');
  try {
    await scratch.store.enqueueMany(Array.from({ length: others }, () => ({ task: 'other', payload: {}, maxAttempts: 1, priority: 1 })));
    await scratch.store.enqueueMany(Array.from({ length: claims }, () => jobSpec(noop, {})));
    const started = performance.now();
    for (let i = 0; i < claims; i++) {
      const [job] = await claimJobs(scratch.store, 'bench', 1, 60_000, { tasks: [noop.name] });
      if (job === undefined) throw new Error('a claim found nothing');
    }
    return perSecond(claims, performance.now() - started);
  } finally {
    await scratch.close();
  }
}

/** `enqueue()` through the library, `inFlight` at a time, each awaited. */
export async function enqueueRate(count: number, durability: Durability, inFlight = 1): Promise<number> {
  const scratch = await scratchDatabase(durability);
  try {
    const started = performance.now();
    for (let done = 0; done < count; done += inFlight) {
      const batch = Math.min(inFlight, count - done);
      await Promise.all(Array.from({ length: batch }, () => scratch.store.enqueue(jobSpec(noop, {}))));
    }
    return perSecond(count, performance.now() - started);
  } finally {
    await scratch.close();
  }
}

interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<void>;
}

/** The node flags of `bin`'s `#!/usr/bin/env -S node ...` line: a worker runs as the installed command does. */
function nodeFlags(bin: string): string[] {
  const [first = ''] = fs.readFileSync(bin, 'utf8').split('\n', 1);
  const words = first
    .replace(/^#!\S*env\s+(-S\s+)?/, '')
    .split(/\s+/)
    .filter(Boolean);
  return words.slice(1);
}

// The workers load the very module this process enqueues with.
const NOOP_TASK_MODULE = fileURLToPath(new URL('./noop-task.js', import.meta.url));

function startWorker(bin: string, scratch: Scratch, args: string[]): WorkerProcess {
  const worker = [bin, 'worker', '--db', scratch.location, ...scratch.args, '--loglevel', 'warning', '--tasks', NOOP_TASK_MODULE, ...args];
  const child = spawn(process.execPath, [...nodeFlags(bin), ...worker], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { child, exited: new Promise((resolve) => child.on('close', () => resolve())) };
}

async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Peak resident memory of a process, from /proc (Linux); null elsewhere. */
function peakRssMiB(pid: number | undefined): number | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
    return Number.isFinite(kib) ? +(kib / 1024).toFixed(1) : null;
  } catch {
    return null;
  }
}

async function withWorkers<T>(
  bin: string,
  scratch: Scratch,
  workers: number,
  args: string[],
  work: (processes: WorkerProcess[]) => Promise<T>,
): Promise<T> {
  const processes = Array.from({ length: workers }, () => startWorker(bin, scratch, args));
  try {
    await until(async () => (await liveWorkers(scratch.store)).length === workers, 30_000, 'the workers to start');
    return await work(processes);
  } finally {
    for (const worker of processes) worker.child.kill('SIGTERM');
    await Promise.all(processes.map((worker) => worker.exited));
  }
}

export interface DrainResult {
  jobsPerSecond: number;
  peakRssMiB: number | null;
}

/** `count` no-op jobs committed at once, drained by `workers` worker processes already idle. */
export async function drainRate(bin: string, count: number, workers: number, concurrency: number): Promise<DrainResult> {
  const scratch = await scratchDatabase();
  try {
    return await withWorkers(bin, scratch, workers, ['--concurrency', String(concurrency)], async (processes) => {
      // The workers are woken as the whole batch commits: the clock runs from then to the last job done.
      await scratch.store.transaction(async (tx) => {
        for (let i = 0; i < count; i++) await tx.enqueue(jobSpec(noop, {}));
      });
      const started = performance.now();
      await until(async () => !(await scratch.store.hasUnfinishedJobs()), 600_000, 'the jobs to be drained');
      const elapsed = performance.now() - started;
      const peaks = processes.map((worker) => peakRssMiB(worker.child.pid)).filter((peak) => peak !== null);
      return { jobsPerSecond: perSecond(count, elapsed), peakRssMiB: peaks.length ? Math.max(...peaks) : null };
    });
  } finally {
    await scratch.close();
  }
}

export interface Latency {
  p50Ms: number;
  p99Ms: number;
}

/** From the commit of a job in this process to an idle worker process having claimed it. */
export async function pickupLatency(bin: string, count: number): Promise<Latency> {
  const scratch = await scratchDatabase();
  try {
    return await withWorkers(bin, scratch, 1, [], async () => {
      const samples: number[] = [];
      for (let i = 0; i < count; i++) {
        const job = await scratch.store.enqueue(jobSpec(noop, {}));
        const committed = performance.now();
        for (;;) {
          const row = await scratch.store.getJob(job.id);
          if (row && row.state !== 'queued') break;
          await new Promise((resolve) => setImmediate(resolve));
        }
        samples.push(performance.now() - committed);
        await until(async () => (await scratch.store.getJob(job.id))?.state === 'succeeded', 10_000, 'the job to finish');
      }
      samples.sort((a, b) => a - b);
      const at = (q: number) => +samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!.toFixed(2);
      return { p50Ms: at(0.5), p99Ms: at(0.99) };
    });
  } finally {
    await scratch.close();
  }
}

/**
 * How long after its completion was written a result reaches a waiter in another process than the
 * worker (queue.result, woken by the commit): the waiter's clock at the result, less the job's
 * finished_at (the worker's clock as it wrote the completion, the same machine's).
 */
export async function resultLatency(bin: string, count: number): Promise<Latency> {
  const scratch = await scratchDatabase();
  try {
    return await withWorkers(bin, scratch, 1, [], async () => {
      const samples: number[] = [];
      const results = new ResultWaits(scratch.store);
      for (let i = 0; i < count; i++) {
        const job = await scratch.store.enqueue(jobSpec(noop, {}));
        await results.wait(job.id, { timeoutMs: 10_000 });
        const resolved = Date.now();
        samples.push(resolved - (await scratch.store.getJob(job.id))!.finished_at!);
      }
      samples.sort((a, b) => a - b);
      const at = (q: number) => +samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!.toFixed(2);
      return { p50Ms: at(0.5), p99Ms: at(0.99) };
    });
  } finally {
    await scratch.close();
  }
}

export interface GenerationResult {
  /** 200 bare PBKDF2 hashes, all at once on the thread pool. */
  bareMs: number;
  /** One generate_users job of the same size, end to end. */
  jobMs: number;
}

export async function generation(total: number, iterations: number): Promise<GenerationResult> {
  let started = performance.now();
  await Promise.all(Array.from({ length: total }, () => pbkdf2Async(randomBytes(32), randomBytes(16), iterations, 32, 'sha256')));
  const bareMs = performance.now() - started;
  const scratch = await scratchDatabase();
  try {
    started = performance.now();
    const job = await scratch.store.enqueue(jobSpec(generateUsers, { total, iterations }));
    const done = await awaitJob(scratch.store, job.id, { runHere: 'always', tasks: [generateUsers] });
    if (done.state !== 'succeeded') throw new Error(`bench: the generate job ${done.state}`);
    return { bareMs: Math.round(bareMs), jobMs: Math.round(performance.now() - started) };
  } finally {
    await scratch.close();
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
