import type { Kysely } from 'kysely';
import { CompiledQuery } from '../kysely.js';
import type { Database } from '../schema.js';
import type { SyncConnection } from './driver.js';
import { thisHost } from '../liveness.js';
import { deadWorkersHere, insertWorker, touchWorker } from '../queries.js';
import type { NewWorker } from '../store.js';

// Getting back the jobs of workers that died (killed, or hung past their lease), in SQLite's SQL.
// Their rows are written by ../queries.ts.

/** Records a worker, with where it runs; first gets back the jobs of dead workers of this host. */
export async function registerWorker(db: Kysely<Database>, worker: NewWorker, now = Date.now()): Promise<void> {
  await recoverDeadWorkers(db, now);
  await insertWorker(db, worker);
}

/**
 * Pushes out the worker's `alive_until`, then gets back the jobs of dead workers of this host: a
 * worker whose slots are all busy claims nothing, and would otherwise not look for them.
 */
export async function heartbeatWorker(db: Kysely<Database>, workerId: string, aliveUntil: number, jobsDone: number, now = Date.now()): Promise<void> {
  await touchWorker(db, workerId, aliveUntil, jobsDone, now);
  await recoverDeadWorkers(db, now);
}

/**
 * Workers of this host whose process is gone lose their jobs at once, as if their leases had
 * expired (the attempt counts), and their rows. Returns how many jobs that put back or failed.
 * Cheap when none died: one read of this host's worker rows and one /proc read per row.
 */
export async function recoverDeadWorkers(db: Kysely<Database>, now = Date.now()): Promise<number> {
  const here = thisHost();
  if (here.boot_id === null || here.pid_namespace === null) return 0;
  const dead = await deadWorkersHere(db, { boot_id: here.boot_id, pid_namespace: here.pid_namespace });
  if (dead.length === 0) return 0;
  return db.transaction().execute(async (trx) => {
    const { numAffectedRows } = await trx.executeQuery(CompiledQuery.raw(RECOVER_DEAD, [now, now, JSON.stringify(dead)]));
    await trx.deleteFrom('workers').where('id', 'in', dead).execute();
    return Number(numAffectedRows ?? 0n);
  });
}

/**
 * A running job whose lease has expired lost its worker (killed, or hung past its lease). It goes
 * back to the queue, its attempt counted; with no attempts left it fails instead, so a job that
 * kills its worker every time cannot crash-loop the fleet. Runs in the claim's transaction.
 */
export function recoverExpiredLeases(connection: SyncConnection, now: number): void {
  connection.execute(CompiledQuery.raw(RECOVER_EXPIRED, [now, now, now]));
}

/**
 * Puts back (or fails, with no attempts left) the running jobs `where` selects, with `error`; the
 * failure is appended to the job's history, and a job put back drops its stale progress.
 * Parameters: the time twice, then those of `where`.
 */
function recoverJobs(error: string, where: string): string {
  const ended = 'attempts >= max_attempts';
  return `update jobs set
  state = case when ${ended} then 'failed' else 'queued' end,
  finished_at = case when ${ended} then ? end,
  error = ${error},
  history = json_insert(coalesce(history, '[]'), '$[#]', json_object('at', ?, 'attempt', attempts,
    'state', case when ${ended} then 'failed' else 'queued' end, 'error', ${error})),
  progress_current = case when ${ended} then progress_current end,
  progress_total = case when ${ended} then progress_total end,
  locked_by = null, locked_until = null
  where state = 'running' and ${where}`;
}

const RECOVER_EXPIRED = recoverJobs(
  `json_object('name', 'LeaseExpiredError', 'message',
    'worker ' || locked_by || ' stopped renewing its lease during attempt ' || attempts || ' (killed or hung)')`,
  'locked_until < ?',
);

const RECOVER_DEAD = recoverJobs(
  `json_object('name', 'WorkerDiedError', 'message',
    'worker ' || locked_by || ' died during attempt ' || attempts || ' (its process on this host is gone)')`,
  'locked_by in (select value from json_each(?))',
);
