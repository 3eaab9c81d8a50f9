import type { EventEmitter } from 'node:events';
import { toError } from '../errors.js';
import type { AnyTask } from './task.js';

// What a worker is given and what it tells: its options, its log, its summary and its events.

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** False when info lines are dropped: a line per job is then not even built. */
  readonly infoEnabled?: boolean;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, infoEnabled: false };

export interface WorkerOptions {
  /** The tasks this worker runs: it claims jobs of these only. */
  tasks: readonly AnyTask[];
  /** Jobs run at once by this worker. */
  concurrency: number;
  leaseMs?: number;
  /** How often an idle worker looks for new jobs. */
  pollMs?: number;
  /** On stop, how long running jobs may take to finish before they are given back to the queue. */
  graceMs?: number;
  /** How often it deletes the ended jobs of its tasks past their retention (default once a minute; also at start). */
  pruneEveryMs?: number;
  /** Return once nothing is ready or running. */
  drain?: boolean;
  /** Work this one job and nothing else. */
  jobId?: number;
  /** Record this worker in the workers table (false for a job run inside a waiting command). */
  register?: boolean;
  logger?: Logger;
  /** Called once the worker is recorded alive and watching for work (`status` shows it from then on). */
  onRunning?: () => void;
}

export const DEFAULT_LEASE_MS = 30_000;
export const DEFAULT_POLL_MS = 200;
export const DEFAULT_GRACE_MS = 30_000;

export interface WorkerSummary {
  succeeded: number;
  failed: number;
  retried: number;
  released: number;
}

/** What a worker tells its listeners about a job whose attempt ended. */
export interface JobEvent {
  id: number;
  task: string;
  /** 1 on the first attempt. */
  attempt: number;
  /** The task's return value (`succeeded`). */
  result?: unknown;
  /** Why the attempt failed (`failed`, `retried`). */
  error?: Error;
}

export interface WorkerEvents {
  /** The job is done: its task returned and its completion committed. */
  succeeded: [JobEvent];
  /** The job failed for good (no attempts left, or a failure no retry can fix). */
  failed: [JobEvent];
  /** The attempt failed; the job is queued again for a later attempt. */
  retried: [JobEvent];
}

/** Tells `worker`'s listeners of `event`; one that throws (or rejects) is logged, and changes nothing of the job. */
export function tell<E extends keyof WorkerEvents>(worker: EventEmitter<WorkerEvents>, event: E, make: () => JobEvent, log: Logger): void {
  for (const listener of worker.listeners(event) as Array<(event: JobEvent) => unknown>) {
    const failed = (error: unknown) => log.error(`a '${event}' listener failed: ${toError(error).message}`);
    try {
      // An async listener's rejection is caught too: it must not become an unhandled rejection.
      const returned = listener.call(worker, make());
      if (returned instanceof Promise) returned.catch(failed);
    } catch (error) {
      failed(error);
    }
  }
}
