import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Payload, Place, System } from './system.js';

// The floor under any SQLite queue: better-sqlite3 alone, WAL, synchronous=NORMAL as the SQLite
// peers, a job table with a partial index on the queued jobs, and a worker loop with no lease, no
// heartbeat, no retry and no wake-up. Concurrency n is n loops on the one connection; each claims
// 1 (bare-claim1) or 50 (bare-claim50) jobs in one UPDATE ... RETURNING, runs them one after the
// other, and marks them done in one transaction.

const POLL_MS = 50;

function open(place: Place): BetterSqlite3.Database {
  const db = new BetterSqlite3(path.join(place.dir, 'bare.db'));
  db.pragma('journal_mode = WAL');
  db.pragma(place.fsync ? 'synchronous = FULL' : 'synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  return db;
}

export const system: System = {
  async label(place) {
    return place.system === 'bare-claim1' ? 'bare better-sqlite3, claim 1' : 'bare better-sqlite3, claim 50';
  },

  async prepare(place) {
    const db = open(place);
    db.exec(`create table jobs (id integer primary key, payload text not null, state integer not null default 0);
             create index jobs_queued on jobs (id) where state = 0;`);
    db.close();
  },

  async cleanup() {},

  async openProducer(place) {
    const db = open(place);
    const insert = db.prepare('insert into jobs (payload) values (?)');
    const insertMany = db.transaction((payloads: Payload[]) => {
      for (const payload of payloads) insert.run(JSON.stringify(payload));
    });
    return {
      enqueue: (payload) => void insert.run(JSON.stringify(payload)),
      enqueueBulk: (payloads) => insertMany(payloads),
      async close() {
        db.close();
      },
    };
  },

  async openWorker(place, concurrency, hooks) {
    const db = open(place);
    const batch = place.system === 'bare-claim50' ? 50 : 1;
    const claim = db.prepare<[number], { id: number; payload: string }>(
      'update jobs set state = 1 where id in (select id from jobs where state = 0 order by id limit ?) returning id, payload',
    );
    const complete = db.prepare<[number]>('update jobs set state = 2 where id = ?');
    const completeAll = db.transaction((ids: number[]) => {
      for (const id of ids) complete.run(id);
    });
    const { started } = hooks;
    const handler = async (payload: Payload) => {
      if (started) started(payload);
    };
    let stopping = false;
    const sleeping = new Set<() => void>();
    const loop = async () => {
      while (!stopping) {
        const jobs = claim.all(batch);
        if (jobs.length === 0) {
          await new Promise<void>((resolve) => {
            const wake = () => {
              clearTimeout(timer);
              sleeping.delete(wake);
              resolve();
            };
            const timer = setTimeout(wake, POLL_MS);
            sleeping.add(wake);
          });
          continue;
        }
        for (const job of jobs) await handler(JSON.parse(job.payload) as Payload);
        completeAll(jobs.map((job) => job.id));
        for (let i = 0; i < jobs.length; i++) hooks.completed();
      }
    };
    let loops: Array<Promise<void>> = [];
    return {
      async start() {
        loops = Array.from({ length: concurrency }, loop);
      },
      async stop() {
        stopping = true;
        for (const wake of [...sleeping]) wake();
        await Promise.all(loops);
        db.close();
      },
    };
  },

  pickup: {
    unsupported:
      'The bare loop has no wake-up: it finds a new job only at its next poll (50 ms), so its pickup would be its poll interval, not a measure of it.',
  },
};
