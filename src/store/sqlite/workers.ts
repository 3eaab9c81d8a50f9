import type { Kysely } from 'kysely';
import { keptQueuedKey } from '../dedupe.js';
import { CompiledQuery } from '../kysely.js';
import type { Database } from '../schema.js';
import type { RecoveryError } from '../store.js';

// Putting back the jobs of workers that died, in SQLite's SQL: which ones, and with what error,
// is the queue's (src/queue/recovery.ts). The workers' rows are written by ../queries.ts.

/** Puts back (or fails) the running jobs whose lease ran out before `now`; returns how many. */
export async function recoverExpired(db: Kysely<Database>, now: number, error: RecoveryError): Promise<number> {
  const { numAffectedRows } = await db.executeQuery(CompiledQuery.raw(RECOVER_EXPIRED, [...recoveryParameters(now, error), now]));
  return Number(numAffectedRows ?? 0n);
}

/** Puts back (or fails) the running jobs of the workers `ids`, and deletes their rows, in one transaction. */
export function recoverWorkers(db: Kysely<Database>, ids: readonly string[], now: number, error: RecoveryError): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const { numAffectedRows } = await trx.executeQuery(CompiledQuery.raw(RECOVER_WORKERS, [...recoveryParameters(now, error), JSON.stringify(ids)]));
    await trx.deleteFrom('workers').where('id', 'in', ids).execute();
    return Number(numAffectedRows ?? 0n);
  });
}

function recoveryParameters(now: number, { name, message }: RecoveryError): unknown[] {
  return [now, name, message, now, name, message];
}

/**
 * Puts back (or fails, with no attempts left) the running jobs `where` selects; the error is
 * appended to the job's history, and a job put back drops its stale progress. Parameters: the
 * time, the error's name and message (twice over), then those of `where`.
 */
function recoverJobs(where: string): string {
  const ended = 'attempts >= max_attempts';
  const error = `json_object('name', ?, 'message', replace(replace(?, '{worker}', locked_by), '{attempt}', attempts))`;
  return `update jobs set
  state = case when ${ended} then 'failed' else 'queued' end,
  finished_at = case when ${ended} then ? end,
  error = ${error},
  history = json_insert(coalesce(history, '[]'), '$[#]', json_object('at', ?, 'attempt', attempts,
    'state', case when ${ended} then 'failed' else 'queued' end, 'error', ${error})),
  progress_current = case when ${ended} then progress_current end,
  progress_total = case when ${ended} then progress_total end,
  dedupe_queued = ${keptQueuedKey('jobs', { manyRows: true })},
  locked_by = null, locked_until = null
  where state = 'running' and ${where}`;
}

const RECOVER_EXPIRED = recoverJobs('locked_until < ?');
const RECOVER_WORKERS = recoverJobs('locked_by in (select value from json_each(?))');
