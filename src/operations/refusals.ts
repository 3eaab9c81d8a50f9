import type { JobState } from '../store/schema.js';
import { UserError } from '../errors.js';
import type { StoredError } from '../queue/errors.js';

// What an operation refuses to do, or tried and could not, as values a caller can tell apart (a
// web page answers 404 or 409, the CLI prints the message and exits 1). Each carries what it is
// about. Storage faults (disk full, damaged file) are StorageError, from the store; a job that is
// not there, or not in a state the change applies to, is JobNotFoundError or JobStateError (../queue/errors.ts).

/** A backup job ended without a backup: it failed, or was cancelled. */
export class BackupFailed extends UserError {
  override name = 'BackupFailed';

  constructor(
    readonly jobId: number,
    readonly state: JobState,
    /** Its last attempt's error, as the job keeps it. */
    readonly error: StoredError | null,
  ) {
    super(`backup job ${jobId} ${state}: ${error?.message ?? 'no error recorded'}`);
  }
}

/** The backup to restore is neither where it was named nor in the backup folder. */
export class BackupNotFound extends UserError {
  override name = 'BackupNotFound';

  constructor(
    readonly file: string,
    /** The folders a bare name was looked for in. */
    readonly lookedIn: readonly string[],
  ) {
    super(`no such file: ${file} (looked in ${lookedIn[0]} and in the backup folder ${lookedIn[1]})`);
  }
}

/**
 * Workers run on the database (their jobs in flight would be lost or run again if it were
 * replaced under them), or it is too damaged to tell (`workers` null).
 */
export class WorkersRunning extends UserError {
  override name = 'WorkersRunning';

  constructor(
    readonly location: string,
    readonly workers: number | null,
  ) {
    super(
      workers === null
        ? `cannot tell whether workers are running on ${location} (it is damaged): stop them, then pass --force`
        : `${workers} worker(s) are running on ${location}: stop them first, or pass --force`,
    );
  }
}

/** Whoever was asked to confirm said no: nothing changed. */
export class NotConfirmed extends UserError {
  override name = 'NotConfirmed';

  constructor(readonly action: string) {
    super(`${action} cancelled; nothing changed`);
  }
}

/** A module given to a worker for its tasks cannot be used: it does not load, exports none, or clashes. */
export class BadTaskModule extends UserError {
  override name = 'BadTaskModule';

  constructor(
    readonly module: string,
    message: string,
  ) {
    super(message);
  }
}
