import pg from 'pg';
import { openQueue, type Durability } from '../../../dist/index.js';
import type { Place, System } from './system.js';
import { producerOf, workerOf } from './system-usergen.js';

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
    return producerOf(await open(place));
  },

  async openWorker(place, concurrency, hooks) {
    return workerOf(await open(place, concurrency + 2), concurrency, hooks);
  },

  pickup: { pauseMs: 10 },
};
