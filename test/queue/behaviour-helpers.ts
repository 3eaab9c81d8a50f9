import fs from 'node:fs';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { ROOT, waitFor, type CliProcess, type CliResult, type JobRecord } from '../helpers.js';

/** Tasks for the behaviour tests: `usergen worker --tasks BEHAVIOUR_TASKS`. */
export const BEHAVIOUR_TASKS = path.join(ROOT, 'test', 'fixtures', 'behaviour-tasks.mjs');

export interface JobTimes extends JobRecord {
  priority: number;
  run_at: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  locked_by: string | null;
  history: string | null;
}

export function jobRow(db: BetterSqlite3.Database, id: number): JobTimes {
  return db.prepare('select * from jobs where id = ?').get(id) as JobTimes;
}

export interface HistoryRecord {
  at: number;
  attempt: number;
  state: string;
  retry_at?: number | null;
  error?: { name: string; message: string; stack?: string };
}

export function historyOf(row: JobTimes): HistoryRecord[] {
  return JSON.parse(row.history ?? '[]') as HistoryRecord[];
}

export function storedError(row: JobTimes): { name: string; message: string; stack?: string } {
  return JSON.parse(row.error ?? 'null') as { name: string; message: string; stack?: string };
}

/** The exit of `process`, which must come within `timeoutMs` (a process that hangs fails the test instead of the suite). */
export async function exitWithin(process: CliProcess, timeoutMs: number, what: string): Promise<CliResult> {
  let exit: CliResult | undefined;
  void process.exited.then((result) => (exit = result));
  return waitFor(() => exit, what, timeoutMs);
}

/** The state letter of process `pid` (field 3 of /proc/<pid>/stat): `T` once it is stopped. */
function processState(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
}

/** Whether a write transaction could begin on the file now, without waiting. */
function writeLockFree(db: BetterSqlite3.Database): boolean {
  db.pragma('busy_timeout = 0');
  try {
    db.exec('begin immediate');
    db.exec('rollback');
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_BUSY') return false;
    throw error;
  } finally {
    db.pragma('busy_timeout = 10000');
  }
}

/**
 * SIGSTOPs `worker` at a moment it holds no write lock on the file: stopped inside a write (a
 * heartbeat), it would block every other process until it is woken. Its pid stays alive, so only
 * its lease can tell that it stopped working.
 */
export async function pauseOutsideWrite(worker: CliProcess, db: BetterSqlite3.Database): Promise<void> {
  const pid = worker.child.pid!;
  await waitFor(async () => {
    worker.child.kill('SIGSTOP');
    await waitFor(() => processState(pid) === 'T', 'the worker to stop');
    if (writeLockFree(db)) return true;
    worker.child.kill('SIGCONT');
    return false;
  }, 'the worker to be stopped outside a write');
}
