// The public entry: what `import { ... } from 'usergen'` gives, and only that. Importing it opens
// nothing and loads none of the command line's packages.

export { createTestQueue, openQueue, Queue, type Job, type OpenQueueOptions, type QueueTransaction, type QueueWorkerOptions } from './queue/queue.js';
export { defineTask, type CompletionJobs, type EnqueueOptions, type TaskContext, type TaskDefinition, type TaskSpec } from './queue/task.js';
export type { JobEvent, Logger, Worker, WorkerEvents, WorkerOptions, WorkerSummary } from './queue/worker.js';
export type { BackoffOptions } from './queue/backoff.js';
export type { Schedule, ScheduleCadence, ScheduleOptions } from './queue/schedules.js';
export type { CatchUp } from './store/schema.js';
export type { DedupeWhile } from './store/dedupe.js';
export {
  JobCancelledError,
  JobFailedError,
  JobNotFoundError,
  JobStateError,
  JobTimeoutError,
  LeaseLostError,
  PermanentJobError,
  ResultTimeoutError,
  RetryAfterError,
  type RetryAfterOptions,
  ShutdownError,
} from './queue/errors.js';
export type { ResultOptions } from './queue/results.js';
export type { IdleReport, JobOutcome, RunUntilIdleOptions, TestQueueOptions } from './queue/testing.js';
export type { Cancellation, FinalState, JobsQuery, PurgeOptions } from './queue/steering.js';
export type { PausedTaskView, ScheduleView, StatusReport, WorkerView } from './queue/status.js';
export type { TaskName, TaskPause } from './queue/pauses.js';
export type { EndedState, Retention, RetentionDuration, RetentionMs } from './queue/retention.js';
export type { LimitsChange, LimitsSpec, RateLimit, StoredTaskLimits, TaskLimits } from './queue/limits.js';
export { StorageError, type Durability, type JobSelection, type PayloadValue, type StorageFault } from './store/store.js';
export { UsageError, UserError } from './errors.js';
export type { Database, JobState } from './store/schema.js';
