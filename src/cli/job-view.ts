import type { JobRow } from '../db/schema.js';
import { parseStoredError, type StoredError } from '../queue/errors.js';

/** A job as commands print it (`--json`): parsed JSON fields, ISO times, no lease internals. */
export interface JobView {
  id: number;
  task: string;
  state: JobRow['state'];
  payload: unknown;
  priority: number;
  attempts: number;
  max_attempts: number;
  progress: { current: number; total: number } | null;
  result: unknown;
  error: StoredError | null;
  created_at: string;
  run_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** Earlier runs, one per retry. */
  history: unknown[];
}

export function toJobView(job: JobRow): JobView {
  return {
    id: job.id,
    task: job.task,
    state: job.state,
    payload: JSON.parse(job.payload),
    priority: job.priority,
    attempts: job.attempts,
    max_attempts: job.max_attempts,
    progress:
      job.progress_total === null ? null : { current: job.progress_current ?? 0, total: job.progress_total },
    result: job.result === null ? null : JSON.parse(job.result),
    error: parseStoredError(job.error),
    created_at: iso(job.created_at),
    run_at: iso(job.run_at),
    started_at: job.started_at === null ? null : iso(job.started_at),
    finished_at: job.finished_at === null ? null : iso(job.finished_at),
    history: job.history === null ? [] : (JSON.parse(job.history) as unknown[]),
  };
}

/** `3.21s`: from the start of the last attempt to the end, or '' if it has not ended. */
export function tookOf(job: JobRow): string {
  if (job.started_at === null || job.finished_at === null) return '';
  return `${((job.finished_at - job.started_at) / 1000).toFixed(2)}s`;
}

/** The result, or the first line of the error, in one short line. */
export function outcomeOf(job: JobRow, width = 60): string {
  const error = parseStoredError(job.error);
  const text = error ? `${error.name}: ${error.message}` : job.result === null ? '' : describeValue(JSON.parse(job.result));
  const line = text.split('\n')[0]!;
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

export function progressOf(job: JobRow): string {
  return job.progress_total === null ? '' : `${job.progress_current ?? 0}/${job.progress_total}`;
}

/** A string as it is, anything else as JSON. */
export function describeValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
