import { EventEmitter } from 'node:events';
import { importPeer, peerVersion, type Payload, type Place, type System } from './system.js';

// graphile-worker on the harness's own PostgreSQL 15 (loopback, synchronous_commit=off), one
// database per measurement, configured as its performance page does for throughput: a local queue
// of 500 jobs per pool, completions and failures batched (delay 0), a connection per running job
// plus one. `graphile-worker-defaults` leaves those at their defaults. Both log no line per
// successful job (NO_LOG_SUCCESS). It deletes a job as it completes.

interface PgClient {
  connect(): Promise<void>;
  query(sql: string): Promise<{ rows: Array<Record<string, unknown>> }>;
  end(): Promise<void>;
}

interface WorkerUtils {
  addJob(task: string, payload: unknown): Promise<unknown>;
  addJobs(specs: Array<{ identifier: string; payload: unknown }>): Promise<unknown>;
  release(): Promise<void>;
}

interface Runner {
  stop(): Promise<void>;
  promise: Promise<void>;
}

interface GraphileWorker {
  Logger: new (factory: () => () => void) => unknown;
  makeWorkerUtils(options: { connectionString: string; logger: unknown }): Promise<WorkerUtils>;
  runMigrations(options: { connectionString: string; logger: unknown }): Promise<void>;
  run(options: object): Promise<Runner>;
}

function server(place: Place): string {
  if (place.postgresPort === null) throw new Error('graphile-worker needs PostgreSQL, which the harness did not start');
  return `postgres://postgres@127.0.0.1:${place.postgresPort}`;
}

async function client(place: Place, database: string): Promise<PgClient> {
  const pg = (await importPeer(place.peers, 'pg')) as { Client: new (options: { connectionString: string }) => PgClient };
  const connection = new pg.Client({ connectionString: `${server(place)}/${database}` });
  await connection.connect();
  return connection;
}

async function graphile(place: Place): Promise<{ worker: GraphileWorker; logger: unknown }> {
  // Read as its modules load: no success line (and no string built for one) per job.
  process.env.NO_LOG_SUCCESS = '1';
  const worker = (await importPeer(place.peers, 'graphile-worker')) as GraphileWorker;
  return { worker, logger: new worker.Logger(() => () => {}) };
}

export const system: System = {
  async label(place) {
    const version = await peerVersion(place.peers, 'graphile-worker');
    return `graphile-worker ${version}, ${place.system === 'graphile-worker' ? 'tuned' : 'defaults'}`;
  },

  async prepare(place) {
    const admin = await client(place, 'postgres');
    try {
      await admin.query(`create database "${place.name}"`);
    } finally {
      await admin.end();
    }
    const { worker, logger } = await graphile(place);
    await worker.runMigrations({ connectionString: `${server(place)}/${place.name}`, logger });
  },

  async cleanup(place) {
    const admin = await client(place, 'postgres');
    try {
      await admin.query(`drop database if exists "${place.name}" with (force)`);
    } finally {
      await admin.end();
    }
  },

  async openProducer(place) {
    const { worker, logger } = await graphile(place);
    const utils = await worker.makeWorkerUtils({ connectionString: `${server(place)}/${place.name}`, logger });
    return {
      enqueue: (payload) => utils.addJob('noop', payload),
      enqueueBulk: (payloads) => utils.addJobs(payloads.map((payload) => ({ identifier: 'noop', payload }))),
      close: () => utils.release(),
    };
  },

  async openWorker(place, concurrency, hooks) {
    const { worker, logger } = await graphile(place);
    const events = new EventEmitter();
    // Told as the job's completion is handed to the batch, before it is written.
    events.on('job:complete', () => hooks.completed());
    const { started } = hooks;
    const jobs = await client(place, place.name);
    let runner: Runner | undefined;
    return {
      async start() {
        const tuned = place.system === 'graphile-worker';
        runner = await worker.run({
          connectionString: `${server(place)}/${place.name}`,
          concurrency,
          noHandleSignals: true,
          logger,
          events,
          taskList: {
            noop: async (payload: Payload) => {
              if (started) started(payload);
            },
          },
          ...(tuned
            ? {
                maxPoolSize: Math.max(10, concurrency + 1),
                preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
              }
            : {}),
        });
      },
      async settled() {
        // Done means written: a completed job is deleted, so the last one is done when none is left.
        for (;;) {
          const { rows } = await jobs.query('select count(*)::int as left from graphile_worker._private_jobs');
          if (rows[0]?.left === 0) return;
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      },
      async stop() {
        await runner?.stop();
        await jobs.end();
      },
    };
  },

  pickup: { pauseMs: 10 },
};
