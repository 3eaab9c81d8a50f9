import type { HistoryEntry, JobRow, JobState } from '../store/schema.js';
import { parseStoredError, type StoredError } from '../queue/errors.js';
import { iso } from '../format.js';

/** A job as operations return it (and `--json` prints it): parsed JSON fields, ISO times, no lease internals. */
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
  /** What happened to the job, oldest first: every failed attempt, every retry by hand. */
  history: HistoryView[];
}

/** A history entry with ISO times; null where the record holds no usable time. */
export interface HistoryView {
  at: string | null;
  attempt: number;
  state: JobState;
  error?: StoredError | null;
  retry_at?: string | null;
  retried_from?: JobState;
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
    progress: job.progress_total === null ? null : { current: job.progress_current ?? 0, total: job.progress_total },
    result: job.result === null ? null : JSON.parse(job.result),
    error: parseStoredError(job.error),
    created_at: iso(job.created_at),
    run_at: iso(job.run_at),
    started_at: job.started_at === null ? null : iso(job.started_at),
    finished_at: job.finished_at === null ? null : iso(job.finished_at),
    history: historyOf(job).map(toHistoryView),
  };
}

function historyOf(job: JobRow): HistoryEntry[] {
  return job.history === null ? [] : (JSON.parse(job.history) as HistoryEntry[]);
}

function toHistoryView({ at, retry_at, ...rest }: HistoryEntry): HistoryView {
  const view: HistoryView = { at: typeof at === 'number' ? iso(at) : null, ...rest };
  if (retry_at !== undefined) view.retry_at = typeof retry_at === 'number' ? iso(retry_at) : null;
  return view;
}
