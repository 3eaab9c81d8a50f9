import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildMode, ChildResult, ChildSpec } from './child.js';
import { loadSystem, type Place, type SystemName } from './system.js';

// What one run measures, in which order, and how one measurement runs: a fresh store made, the
// jobs seeded where the worker is timed, one process per measurement, the store removed after.

export type MeasureKey = 'enqueue-one' | 'enqueue-bulk' | 'drain-1' | 'drain-10' | 'drain-64' | 'pickup' | 'command-rss' | 'fsync-commits';

export interface Measure {
  key: MeasureKey;
  mode: ChildMode;
  concurrency: number;
  /** The jobs are enqueued (untimed, in bulk, by a process of their own) before the measured one starts. */
  seeded: boolean;
  /** The bare loop at synchronous=FULL. */
  fsync?: boolean;
}

export const MEASURES: Measure[] = [
  { key: 'enqueue-one', mode: 'enqueue-one', concurrency: 1, seeded: false },
  { key: 'enqueue-bulk', mode: 'enqueue-bulk', concurrency: 1, seeded: false },
  { key: 'drain-1', mode: 'drain', concurrency: 1, seeded: true },
  { key: 'drain-10', mode: 'drain', concurrency: 10, seeded: true },
  { key: 'drain-64', mode: 'drain', concurrency: 64, seeded: true },
  { key: 'pickup', mode: 'pickup', concurrency: 1, seeded: false },
  { key: 'command-rss', mode: 'command-drain', concurrency: 10, seeded: true },
];

/** The fsync-bound commit rate: the bare loop's one-at-a-time INSERTs at synchronous=FULL. */
const FSYNC_COMMITS: Measure = { key: 'fsync-commits', mode: 'enqueue-one', concurrency: 1, seeded: false, fsync: true };

export interface Step {
  system: SystemName;
  measure: Measure;
}

/**
 * One run's measurements: measure by measure, each on every chosen system, the systems' order
 * rotated from run to run so that no system is always first or last. usergen full's
 * one-at-a-time enqueue is paired with the fsync-bound rate it is judged against, the pair's order
 * alternating, so that both see the disk alike.
 */
export function planRun(chosen: SystemName[], run: number): Step[] {
  const steps: Step[] = [];
  for (const measure of MEASURES) {
    const systems = measure.key === 'command-rss' ? chosen.filter((system) => system === 'usergen-full' || system === 'usergen-normal') : chosen;
    const shift = run % Math.max(1, systems.length);
    for (const system of [...systems.slice(shift), ...systems.slice(0, shift)]) {
      const step = { system, measure };
      if (measure.key === 'enqueue-one' && system === 'usergen-full') {
        const fsync = { system: 'bare-claim1' as const, measure: FSYNC_COMMITS };
        steps.push(...(run % 2 === 0 ? [step, fsync] : [fsync, step]));
      } else {
        steps.push(step);
      }
    }
  }
  return steps;
}

export interface Environment {
  peers: string;
  redisPort: number | null;
  postgresPort: number | null;
  jobs: number;
  pickups: number;
}

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));
const CHILD_TIMEOUT_MS = 15 * 60_000;
let places = 0;

/** Children under way, each a process group, and the scratch folders in use: what a Ctrl-C must end. */
const running = new Set<ChildProcess>();
const scratch = new Set<string>();
let interrupted = false;

export class InterruptedError extends Error {}

/** Ends the measurement under way (its processes and its folder), and starts none after it. */
export function interrupt(): void {
  interrupted = true;
  for (const child of running) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
}

function runChild(spec: ChildSpec): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    // A process group of its own, so that it and the worker it forks (pickup) end together.
    const child = spawn(process.execPath, [CHILD, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk;
      process.stderr.write(chunk);
    });
    const timer = setTimeout(() => {
      stderr += `killed after ${CHILD_TIMEOUT_MS / 60_000} minutes\n`;
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, CHILD_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      const line = stdout.split('\n').find((text) => text.startsWith('RESULT '));
      if (code === 0 && line) return resolve(JSON.parse(line.slice('RESULT '.length)) as ChildResult);
      const reason =
        stderr
          .trim()
          .split('\n')
          .find((text) => /error|Error|failed|killed/.test(text)) ?? `exit ${code ?? signal}`;
      reject(new Error(reason.trim()));
    });
  });
}

/** One measurement of one system, on a store of its own. */
export async function measureOnce(system: SystemName, measure: Measure, env: Environment, run: number): Promise<ChildResult> {
  if (interrupted) throw new InterruptedError('interrupted');
  const implementation = await loadSystem(system);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `usergen-bench-${system}-`));
  scratch.add(dir);
  const place: Place = {
    system,
    dir,
    peers: env.peers,
    redisPort: env.redisPort,
    postgresPort: env.postgresPort,
    name: `bench_${process.pid}_${++places}`,
  };
  if (measure.fsync) place.fsync = true;
  const spec = (mode: ChildMode): ChildSpec => ({
    mode,
    place,
    jobs: env.jobs,
    concurrency: measure.concurrency,
    pickups: env.pickups,
    seed: run + 1,
  });
  try {
    await implementation.prepare(place);
    if (measure.seeded) await runChild(spec('seed'));
    // Every measurement starts with nothing left for the disk to write: the last one's files and
    // this one's seed are flushed first, so that no fsync of the measured process waits for them.
    spawnSync('sync');
    return await runChild(spec(measure.mode));
  } catch (error) {
    throw interrupted ? new InterruptedError('interrupted') : error;
  } finally {
    if (!interrupted) await implementation.cleanup(place).catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
    scratch.delete(dir);
  }
}
