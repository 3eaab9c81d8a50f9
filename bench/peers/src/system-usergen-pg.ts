import pg from 'pg';
import { defineTask, openQueue, type Durability } from '../../../dist/index.js';
import type { Payload, Place, System } from './system.js';

// usergen through its library on the harness's PostgreSQL server, a database per measurement, as
// graphile-worker is measured: `usergen-pg-full` at its default durability (synchronous_commit=on
// on its connections), `usergen-pg-normal` at the opt-out (off, as the server runs graphile-worker).

function server(place: Place): string {
  if (place.postgresPort === null) throw new Error('usergen on PostgreSQL needs the server, which the harness did not start');
  return `postgres://postgres@127.0.0.1:${place.postgresPort}`;
}

const database = (place: Place) => `${server(place)}/${place.name}`;
const durabilityOf = (place: Place): Durability => (place.system === 'usergen-pg-normal' ? 'normal' : 'full');

async function asAdmin(place: Place, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${server(place)}/postgres` });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

function noopTask(started?: (payload: Payload) => void) {
  return defineTask<Payload, null>({
    name: 'noop',
    validate: (payload) => payload as Payload,
    async handler(payload) {
      started?.(payload);
      return null;
    },
  });
}

// A worker's pool: its concurrency and two more (claims, batched completions), as README advises.
const open = (place: Place, connections = 4) => openQueue({ db: database(place), durability: durabilityOf(place), connections });

export const system: System = {
  async label(place) {
    return `usergen ${durabilityOf(place)} on PostgreSQL`;
  },

  async prepare(place) {
    await asAdmin(place, `create database "${place.name}"`);
    await (await open(place)).close();
  },

  async cleanup(place) {
    await asAdmin(place, `drop database if exists "${place.name}" with (force)`);
  },

  async openProducer(place) {
    const queue = await open(place);
    const noop = noopTask();
    return {
      enqueue: (payload) => queue.enqueue(noop, payload),
      enqueueBulk: (payloads) => queue.enqueueMany(noop, payloads),
      close: () => queue.close(),
    };
  },

  async openWorker(place, concurrency, hooks) {
    const queue = await open(place, concurrency + 2);
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
  },

  pickup: { pauseMs: 10 },
};
