import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// What the harness asks of each system, and how a process loads one. Each system lives in a module
// of its own (system-<name>.js) so that a worker process loads that system's packages and no other:
// its resident memory is its own.

export const SYSTEMS = [
  'usergen-full',
  'usergen-normal',
  'usergen-pg-full',
  'usergen-pg-normal',
  'plainjob',
  'bullmq',
  'graphile-worker',
  'graphile-worker-defaults',
  'bare-claim1',
  'bare-claim50',
] as const;
export type SystemName = (typeof SYSTEMS)[number];

/** Where one measurement's queue lives, as every process of that measurement reaches it. */
export interface Place {
  system: SystemName;
  /** A scratch folder of this measurement's own (the SQLite file lives in it), removed after. */
  dir: string;
  /** The folder the peers are installed in (`<peers>/node_modules`). */
  peers: string;
  redisPort: number | null;
  postgresPort: number | null;
  /** Unique to this measurement: the BullMQ queue's name, the PostgreSQL database's. */
  name: string;
  /** The bare loop at synchronous=FULL: the fsync-bound commit rate, usergen full's reference. */
  fsync?: boolean;
}

/** The one payload every system carries: a job's number. */
export interface Payload {
  i: number;
}

export interface Producer {
  /** One job; committed when it returns (or its promise resolves). */
  // biome-ignore lint/suspicious/noConfusingVoidType: a system's enqueue is synchronous or async, as its library's is.
  enqueue(payload: Payload): Promise<unknown> | void;
  /** A chunk of jobs through the system's own bulk API. */
  // biome-ignore lint/suspicious/noConfusingVoidType: as enqueue.
  enqueueBulk(payloads: Payload[]): Promise<unknown> | void;
  close(): Promise<void>;
}

export interface WorkerHooks {
  /** Called on a handler's first line. */
  started?(payload: Payload): void;
  /** Called as the system tells that a job has completed. */
  completed(): void;
}

export interface BenchWorker {
  /** Starts working; the drain clock starts just before this call. */
  start(): Promise<void>;
  /**
   * Resolves once every completion told so far is committed, where the system tells before it
   * commits (graphile-worker); absent where its event comes after the commit.
   */
  settled?(): Promise<void>;
  stop(): Promise<void>;
}

export interface System {
  /** How it is named in the table, with its version. */
  label(place: Place): Promise<string>;
  /** Makes the empty store (schema, database) outside every clock. */
  prepare(place: Place): Promise<void>;
  /** Removes what `prepare` and the measurement made, but the scratch folder. */
  cleanup(place: Place): Promise<void>;
  openProducer(place: Place): Promise<Producer>;
  openWorker(place: Place, concurrency: number, hooks: WorkerHooks): Promise<BenchWorker>;
  /**
   * Why there is no pickup figure (the system cannot be woken), or null. `pauseMs`: the longest
   * pause before each pickup job, so that a polling system is sampled across its poll cycle.
   */
  pickup: { unsupported: string } | { pauseMs: number };
}

const MODULES: Record<SystemName, string> = {
  'usergen-full': 'system-usergen.js',
  'usergen-normal': 'system-usergen.js',
  'usergen-pg-full': 'system-usergen-pg.js',
  'usergen-pg-normal': 'system-usergen-pg.js',
  plainjob: 'system-plainjob.js',
  bullmq: 'system-bullmq.js',
  'graphile-worker': 'system-graphile-worker.js',
  'graphile-worker-defaults': 'system-graphile-worker.js',
  'bare-claim1': 'system-bare.js',
  'bare-claim50': 'system-bare.js',
};

export async function loadSystem(name: SystemName): Promise<System> {
  const module = (await import(`./${MODULES[name]}`)) as { system: System };
  return module.system;
}

/**
 * A peer package as an application's `import` gets it, from the peers' folder: its CommonJS
 * `module.exports` (the default export) for a CommonJS package, its namespace for an ES module
 * (none of the peers that are ES modules has a default export).
 */
// biome-ignore lint/suspicious/noExplicitAny: each peer's module is typed by its own package, which the harness does not compile against.
export async function importPeer(peers: string, name: string): Promise<any> {
  const file = createRequire(path.join(peers, 'package.json')).resolve(name);
  const namespace = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  return 'default' in namespace ? namespace.default : namespace;
}

/** A peer's version, from its installed package.json. */
export async function peerVersion(peers: string, name: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const manifest = JSON.parse(await readFile(path.join(peers, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}
