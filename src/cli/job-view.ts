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
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
