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
