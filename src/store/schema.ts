import type { Generated, Insertable, Selectable } from 'kysely';

/** Every state a job can be in; shared by the SQL CHECK constraint, the types and `--state` parsing. */
export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** Times are milliseconds since the epoch (UTC): cheap to compare in the claim query. */
export interface JobTable {
  id: Generated<number>;
  task: string;
  /** JSON. */
  payload: string;
  state: JobState;
  /** Higher runs first. */
  priority: number;
  run_at: number;
  /** Attempts started so far (counted when a job is claimed). */
  attempts: number;
  max_attempts: number;
  locked_by: string | null;
  locked_until: number | null;
  progress_current: number | null;
  progress_total: number | null;
  /** JSON of the task's return value. */
  result: string | null;
  /** JSON `{ name, message, stack }` of the last failed attempt. */
  error: string | null;
  /** At most one job per key, ever (used for one-job-per-slot scheduling). */
  unique_key: string | null;
  /** At most one queued job per key (kept while it runs, in case it comes back: see dedupe.ts). */
  dedupe_queued: string | null;
  /** At most one queued or running job per key. */
  dedupe_active: string | null;
  /** Its group for a group limit (src/queue/limits.ts), computed at enqueue; null: in none. */
  group_key: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  /** JSON array of what happened to the job, oldest first: see HistoryEntry. */
  history: string | null;
}

export interface WorkerTable {
  id: string;
  host: string;
  pid: number;
  concurrency: number;
  started_at: number;
  last_heartbeat_at: number;
  /** The worker counts as alive until then; every heartbeat pushes it out. */
  alive_until: number;
  jobs_done: number;
  /** Where the worker runs (see src/queue/liveness.ts); null where that cannot be known. */
  boot_id: string | null;
  pid_namespace: string | null;
  /** When its process started, in clock ticks since boot: tells a reused pid apart. */
  start_ticks: number | null;
  /** JSON array of the names of the tasks it runs (and claims); null for an older worker. */
  tasks: string | null;
}

/**
 * One entry of a job's `history`, appended when it happens. Times in ms since the epoch.
 * A failed attempt (an error, a lease that expired, a worker that died): `state` is what the job
 * went to, `queued` (with `retry_at` unless it is ready at once) or `failed`. A retry by hand:
 * `state` is `queued` and `retried_from` what the job was.
 */
export interface HistoryEntry {
  at: number;
  attempt: number;
  state: JobState;
  error?: { name: string; message: string; stack?: string } | null;
  retry_at?: number | null;
  retried_from?: JobState;
}

/** Columns and names of Django's `auth_user`, so the table can be imported as is. */
export interface UserTable {
  id: Generated<number>;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  /** `pbkdf2_sha256$<iterations>$<salt>$<hash>`; never selected for display. */
  password: string;
  is_superuser: number;
  is_staff: number;
  is_active: number;
  last_login: string | null;
  /** ISO-8601 UTC. */
  date_joined: string;
  job_id: number | null;
}

/** One backup file written by the backup task. */
export interface BackupTable {
  id: Generated<number>;
  /** Absolute path. */
  file: string;
  created_at: number;
  size_bytes: number;
  /** Users and jobs in the copy. */
  users: number;
  jobs: number;
  duration_ms: number;
  /** 1: the copy passed `PRAGMA integrity_check` before it was renamed into place. */
  verified: number;
  job_id: number | null;
}

/** What a slot missed while no worker ran becomes (see src/queue/schedules.ts). */
export const CATCH_UPS = ['none', 'latest', 'all'] as const;
export type CatchUp = (typeof CATCH_UPS)[number];

/** A schedule: its task's job is enqueued at each slot of its cadence (`every_ms`, or `cron` in `timezone`). */
export interface ScheduleTable {
  name: string;
  task: string;
  /** JSON. */
  payload: string;
  every_ms: number | null;
  cron: string | null;
  /** IANA zone of the cron expression; null: UTC. */
  timezone: string | null;
  catch_up: CatchUp;
  /** 1: a slot fires even while the schedule's previous job is queued or running. */
  overlap: number;
  priority: number;
  /** Null: the task's own. */
  max_attempts: number | null;
  paused: number;
  /** The first slot not yet fired (or skipped). */
  next_run_at: number;
  last_slot: number | null;
  last_job_id: number | null;
  last_fired_at: number | null;
  /** Slots not fired: missed while no worker ran, or come while the previous job had not ended. */
  skipped: number;
  created_at: number;
  updated_at: number;
}

/** What a task is told at run time, by name (a task need not be defined anywhere to have a row). */
export interface TaskSettingsTable {
  task: string;
  /** Since when no worker claims the task's jobs; null: it runs. */
  paused_at: number | null;
  updated_at: number;
  /** Since when the limits below replace the definition's (a null limit then: none); null: the definition's hold. */
  limits_set_at: number | null;
  limit_concurrency: number | null;
  limit_rate_max: number | null;
  limit_rate_per_ms: number | null;
  limit_group_concurrency: number | null;
  /** The limits of the task's definition (JSON), as the last worker to start with it said: for the status only. */
  defined_limits: string | null;
}

/** A start of a rate-limited task's job, kept for one window of its rate. */
export interface TaskStartTable {
  task: string;
  at: number;
}

/** Queue-wide settings by name. */
export interface QueueSettingsTable {
  name: string;
  /** JSON. */
  value: string;
  updated_at: number;
}

export interface Database {
  jobs: JobTable;
  workers: WorkerTable;
  schedules: ScheduleTable;
  task_settings: TaskSettingsTable;
  task_starts: TaskStartTable;
  queue_settings: QueueSettingsTable;
  users: UserTable;
  backups: BackupTable;
}

export type JobRow = Selectable<JobTable>;
export type WorkerRow = Selectable<WorkerTable>;
export type ScheduleRow = Selectable<ScheduleTable>;
export type TaskSettingsRow = Selectable<TaskSettingsTable>;
export type UserRow = Selectable<UserTable>;
export type NewUser = Insertable<UserTable>;
export type BackupRow = Selectable<BackupTable>;
export type NewBackup = Insertable<BackupTable>;
