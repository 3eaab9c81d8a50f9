import path from 'node:path';
import type { Engine } from '../engines.js';
import { ROOT, waitFor, type CliProcess, type CliResult, type JobRecord } from '../helpers.js';
import type { Probe } from '../inspect.js';
import { watchWithShell } from '../sqlite-clients.js';

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

export async function jobRow(db: Probe, id: number): Promise<JobTimes> {
  const row = await db.one<JobTimes>('select * from jobs where id = ?', id);
  if (row === undefined) throw new Error(`no job ${id}`);
  return row;
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

/**
 * On a file, an operator watching it the whole time with the sqlite3 shell (stopped, and its reads
 * checked, when the test ends): other SQLite clients on the file must not trouble the workers.
 */
export function watchedByOperator(engine: Engine, location: string): { stop(): Promise<number> } | undefined {
  return engine.name === 'sqlite' ? watchWithShell(location) : undefined;
}
