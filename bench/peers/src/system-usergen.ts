import fs from 'node:fs';
import path from 'node:path';
import { defineTask, openQueue, type Durability, type Queue } from '../../../dist/index.js';
import { wakeFileOf } from '../../../dist/store/sqlite/wake.js';
import type { BenchWorker, Payload, Place, Producer, System, WorkerHooks } from './system.js';

// usergen through its library, as an application uses it: openQueue, defineTask, queue.worker.
// `usergen-full` runs at its default durability (synchronous=FULL), `usergen-normal` at the
// documented opt-out (synchronous=NORMAL).

export function usergenFile(place: Place): string {
  return path.join(place.dir, 'usergen.db');
}

export function durabilityOf(place: Place): Durability {
  return place.system === 'usergen-normal' ? 'normal' : 'full';
}

export function noopTask(started?: (payload: Payload) => void) {
  return defineTask<Payload, null>({
    name: 'noop',
    validate: (payload) => payload as Payload,
    async handler(payload) {
      started?.(payload);
      return null;
    },
  });
}

/** A producer on an open queue, as both engines' systems make it. */
export function producerOf(queue: Queue): Producer {
  const noop = noopTask();
  return {
    enqueue: (payload) => queue.enqueue(noop, payload),
    enqueueBulk: (payloads) => queue.enqueueMany(noop, payloads),
    close: () => queue.close(),
  };
}

/** A worker on an open queue (closed when it stops), as both engines' systems make it. */
export function workerOf(queue: Queue, concurrency: number, hooks: WorkerHooks): BenchWorker {
  const worker = queue.worker({ tasks: [noopTask(hooks.started)], concurrency });
  worker.on('succeeded', () => hooks.completed());
  const controller = new AbortController();
  let running: Promise<unknown> | undefined;
  return {
    async start() {
      running = worker.run(controller.signal);
    },
    async stop() {
      controller.abort();
      await running;
      await queue.close();
    },
  };
}

export const system: System = {
  async label(place) {
    return `usergen ${durabilityOf(place)}`;
  },

  async prepare(place) {
    const queue = await openQueue({ db: usergenFile(place), durability: durabilityOf(place) });
    await queue.close();
  },

  async cleanup(place) {
    fs.rmSync(wakeFileOf(usergenFile(place)), { force: true });
  },

  async openProducer(place) {
    return producerOf(await openQueue({ db: usergenFile(place), durability: durabilityOf(place) }));
  },

  async openWorker(place, concurrency, hooks) {
    return workerOf(await openQueue({ db: usergenFile(place), durability: durabilityOf(place) }), concurrency, hooks);
  },

  pickup: { pauseMs: 10 },
};
