// One measurement of one system, in a process of its own: node child.js '<ChildSpec as JSON>'.
// It prints its result as one line `RESULT <json>` on stdout. A drain's process is the worker
// itself, so its peak resident memory is the worker's; a pickup's process enqueues and forks the
// idle worker it times.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { peakRssMiB } from './proc.js';
import { loadSystem, type Payload, type Place } from './system.js';

export type ChildMode = 'enqueue-one' | 'enqueue-bulk' | 'seed' | 'drain' | 'pickup' | 'pickup-worker' | 'command-drain';

export interface ChildSpec {
  mode: ChildMode;
  place: Place;
  jobs: number;
  concurrency: number;
  pickups: number;
  /** Seeds the pauses between pickups, so that a run can be repeated. */
  seed: number;
}

export interface ChildResult {
  jobsPerSecond?: number;
  peakRssMiB?: number | null;
  p50Ms?: number;
  p99Ms?: number;
}

export const CHUNK = 1_000;

function perSecond(count: number, ms: number): number {
  return Math.round((count * 1000) / ms);
}

function chunks(count: number): Payload[][] {
  const all: Payload[][] = [];
  for (let i = 0; i < count; i += CHUNK) all.push(Array.from({ length: Math.min(CHUNK, count - i) }, (_, j) => ({ i: i + j })));
  return all;
}

async function enqueueOne(spec: ChildSpec): Promise<ChildResult> {
  const producer = await (await loadSystem(spec.place.system)).openProducer(spec.place);
  try {
    const started = performance.now();
    for (let i = 0; i < spec.jobs; i++) await producer.enqueue({ i });
    return { jobsPerSecond: perSecond(spec.jobs, performance.now() - started) };
  } finally {
    await producer.close();
  }
}

async function enqueueBulk(spec: ChildSpec): Promise<ChildResult> {
  const producer = await (await loadSystem(spec.place.system)).openProducer(spec.place);
  try {
    const payloads = chunks(spec.jobs);
    const started = performance.now();
    for (const chunk of payloads) await producer.enqueueBulk(chunk);
    return { jobsPerSecond: perSecond(spec.jobs, performance.now() - started) };
  } finally {
    await producer.close();
  }
}

/** Jobs enqueued before the worker starts; the clock runs from its start to the last job done. */
async function drain(spec: ChildSpec): Promise<ChildResult> {
  let done = 0;
  let allDone!: () => void;
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  const system = await loadSystem(spec.place.system);
  const worker = await system.openWorker(spec.place, spec.concurrency, {
    completed() {
      if (++done === spec.jobs) allDone();
    },
  });
  const started = performance.now();
  await worker.start();
  await finished;
  await worker.settled?.();
  const elapsed = performance.now() - started;
  const peak = peakRssMiB();
  await worker.stop();
  return { jobsPerSecond: perSecond(spec.jobs, elapsed), peakRssMiB: peak };
}

type WorkerMessage = { type: 'ready' } | { type: 'started'; i: number; at: string } | { type: 'completed' };

/** The idle worker of a pickup measurement: it tells, by IPC, when each handler starts. */
async function pickupWorker(spec: ChildSpec): Promise<never> {
  const send = (message: WorkerMessage) => process.send?.(message);
  const system = await loadSystem(spec.place.system);
  const worker = await system.openWorker(spec.place, 1, {
    // CLOCK_MONOTONIC, the same clock in every process of the machine.
    started: (payload) => send({ type: 'started', i: payload.i, at: String(process.hrtime.bigint()) }),
    completed: () => send({ type: 'completed' }),
  });
  await worker.start();
  send({ type: 'ready' });
  await new Promise((resolve) => process.once('message', resolve));
  await worker.stop();
  process.exit(0);
}

function messages(child: ChildProcess): (type: WorkerMessage['type']) => Promise<WorkerMessage> {
  const waiting: WorkerMessage[] = [];
  let wake: (() => void) | undefined;
  child.on('message', (message: WorkerMessage) => {
    waiting.push(message);
    wake?.();
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
    wake?.();
  });
  return async (type) => {
    const deadline = setTimeout(() => child.kill('SIGKILL'), 30_000);
    try {
      for (;;) {
        const next = waiting.shift();
        if (next) {
          if (next.type !== type) throw new Error(`pickup: the worker said '${next.type}' where '${type}' was due`);
          return next;
        }
        if (exited) throw new Error(`pickup: the worker exited (or gave no '${type}' within 30 s)`);
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      clearTimeout(deadline);
    }
  };
}

/** A small seeded generator (mulberry32): the same pauses on every run of the same seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * From an enqueue's commit in this process to its handler's first line in an idle worker process.
 * Before each job, once the previous one completed, a random pause up to the system's `pauseMs`.
 */
async function pickup(spec: ChildSpec): Promise<ChildResult> {
  const system = await loadSystem(spec.place.system);
  if ('unsupported' in system.pickup) throw new Error(system.pickup.unsupported);
  const { pauseMs } = system.pickup;
  const producer = await system.openProducer(spec.place);
  const worker = fork(fileURLToPath(import.meta.url), [JSON.stringify({ ...spec, mode: 'pickup-worker' })], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const next = messages(worker);
  const pause = random(spec.seed);
  const samples: number[] = [];
  try {
    await next('ready');
    for (let i = 0; i < spec.pickups; i++) {
      await new Promise((resolve) => setTimeout(resolve, pause() * pauseMs));
      await producer.enqueue({ i });
      const committed = process.hrtime.bigint();
      const started = await next('started');
      if (started.type !== 'started' || started.i !== i) throw new Error(`pickup: job ${i} was due, the worker started another`);
      samples.push(Number(BigInt(started.at) - committed) / 1e6);
      await next('completed');
    }
  } finally {
    worker.send('stop');
    await new Promise((resolve) => (worker.exitCode === null ? worker.once('exit', resolve) : resolve(undefined)));
    await producer.close();
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => +samples[Math.max(0, Math.ceil(q * samples.length) - 1)]!.toFixed(2);
  return { p50Ms: at(0.5), p99Ms: at(0.99) };
}

async function seed(spec: ChildSpec): Promise<ChildResult> {
  const producer = await (await loadSystem(spec.place.system)).openProducer(spec.place);
  for (const chunk of chunks(spec.jobs)) await producer.enqueueBulk(chunk);
  await producer.close();
  return {};
}

const MODES: Record<ChildMode, (spec: ChildSpec) => Promise<ChildResult>> = {
  'enqueue-one': enqueueOne,
  'enqueue-bulk': enqueueBulk,
  seed,
  drain,
  pickup,
  'pickup-worker': pickupWorker,
  // Loaded only here: a peer's worker process must not carry usergen's modules.
  'command-drain': async (spec) => (await import('./command-drain.js')).commandDrain(spec),
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ChildSpec;
  try {
    const result = await MODES[spec.mode](spec);
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`, () => process.exit(0));
  } catch (error) {
    process.stderr.write(`${spec.place.system} ${spec.mode}: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  }
}
