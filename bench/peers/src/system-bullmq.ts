import { importPeer, peerVersion, type Payload, type Place, type System } from './system.js';

// BullMQ with ioredis, on the harness's own redis-server (loopback, persistence off). Its defaults
// otherwise: completed jobs are kept (as usergen and plainjob keep theirs), one attempt.

interface BullQueue {
  add(name: string, data: unknown): Promise<unknown>;
  addBulk(jobs: Array<{ name: string; data: unknown }>): Promise<unknown>;
  close(): Promise<void>;
}

interface BullWorker {
  on(event: 'completed', listener: () => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  waitUntilReady(): Promise<unknown>;
  run(): Promise<void>;
  close(): Promise<void>;
}

interface BullMQ {
  Queue: new (name: string, options: { connection: object }) => BullQueue;
  Worker: new (
    name: string,
    processor: (job: { data: Payload }) => Promise<void>,
    options: { connection: object; concurrency: number; autorun: boolean },
  ) => BullWorker;
}

interface Redis {
  flushall(): Promise<unknown>;
  quit(): Promise<unknown>;
}

function connection(place: Place) {
  if (place.redisPort === null) throw new Error('BullMQ needs redis-server, which the harness did not start');
  // null: a worker's blocking connection must not give up on a command (BullMQ requires it).
  return { host: '127.0.0.1', port: place.redisPort, maxRetriesPerRequest: null };
}

/** Each measurement starts from an empty Redis, and leaves one. */
async function flush(place: Place): Promise<void> {
  const Redis = (await importPeer(place.peers, 'ioredis')) as new (options: object) => Redis;
  const redis = new Redis(connection(place));
  await redis.flushall();
  await redis.quit();
}

export const system: System = {
  async label(place) {
    return `BullMQ ${await peerVersion(place.peers, 'bullmq')}`;
  },

  prepare: flush,
  cleanup: flush,

  async openProducer(place) {
    const { Queue } = (await importPeer(place.peers, 'bullmq')) as BullMQ;
    const queue = new Queue(place.name, { connection: connection(place) });
    return {
      enqueue: (payload) => queue.add('noop', payload),
      enqueueBulk: (payloads) => queue.addBulk(payloads.map((data) => ({ name: 'noop', data }))),
      close: () => queue.close(),
    };
  },

  async openWorker(place, concurrency, hooks) {
    const { Worker } = (await importPeer(place.peers, 'bullmq')) as BullMQ;
    const { started } = hooks;
    const worker = new Worker(
      place.name,
      async (job) => {
        if (started) started(job.data);
      },
      { connection: connection(place), concurrency, autorun: false },
    );
    worker.on('completed', () => hooks.completed());
    worker.on('error', (error) => process.stderr.write(`bullmq worker: ${error.message}\n`));
    await worker.waitUntilReady();
    let running: Promise<void> | undefined;
    return {
      async start() {
        running = worker.run();
      },
      async stop() {
        await worker.close();
        await running;
      },
    };
  },

  pickup: { pauseMs: 10 },
};
