import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { importPeer, peerVersion, type Payload, type Place, type System } from './system.js';

// plainjob on better-sqlite3 (the same driver and build as usergen's), with its own settings: it
// sets WAL and synchronous=NORMAL itself. It has no concurrency option: a worker runs one job at a
// time and its README scales by workers, so concurrency n is n workers of the one queue in one
// process. Its add and addMany are synchronous.

interface PlainjobQueue {
  add(type: string, data: unknown): { id: number };
  addMany(type: string, data: unknown[]): { ids: number[] };
  close(): void;
}

interface PlainjobWorker {
  start(): Promise<void>;
  stop(): Promise<void>;
}

interface Plainjob {
  better(database: BetterSqlite3.Database): unknown;
  defineQueue(options: { connection: unknown; logger?: unknown }): PlainjobQueue;
  defineWorker(
    type: string,
    processor: (job: { id: number; data: string }) => Promise<void>,
    options: { queue: PlainjobQueue; logger?: unknown; onCompleted?: () => void },
  ): PlainjobWorker;
}

// Its worker logs a debug line per job through this; console would print them.
const silent = { error() {}, warn() {}, info() {}, debug() {} };

async function openQueue(place: Place): Promise<PlainjobQueue> {
  const plainjob = (await importPeer(place.peers, 'plainjob')) as Plainjob;
  const connection = plainjob.better(new BetterSqlite3(path.join(place.dir, 'plainjob.db')));
  return plainjob.defineQueue({ connection, logger: silent });
}

export const system: System = {
  async label(place) {
    return `plainjob ${await peerVersion(place.peers, 'plainjob')}`;
  },

  async prepare(place) {
    (await openQueue(place)).close();
  },

  async cleanup() {},

  async openProducer(place) {
    const queue = await openQueue(place);
    return {
      enqueue: (payload) => void queue.add('noop', payload),
      enqueueBulk: (payloads) => void queue.addMany('noop', payloads),
      async close() {
        queue.close();
      },
    };
  },

  async openWorker(place, concurrency, hooks) {
    const plainjob = (await importPeer(place.peers, 'plainjob')) as Plainjob;
    const queue = await openQueue(place);
    const { started } = hooks;
    // The payload arrives as its JSON text; a no-op handler has no need to parse it but to tell.
    const processor = async (job: { data: string }) => {
      if (started) started(JSON.parse(job.data) as Payload);
    };
    const workers = Array.from({ length: concurrency }, () =>
      plainjob.defineWorker('noop', processor, { queue, logger: silent, onCompleted: () => hooks.completed() }),
    );
    let loops: Array<Promise<void>> = [];
    return {
      async start() {
        loops = workers.map((worker) => worker.start());
      },
      async stop() {
        await Promise.all(workers.map((worker) => worker.stop()));
        // A worker's loop may still be between two statements: the connection closes after it ends.
        await Promise.all(loops);
        queue.close();
      },
    };
  },

  // An idle worker looks again every second (its default pollIntervall); nothing wakes it.
  pickup: { pauseMs: 1_000 },
};
