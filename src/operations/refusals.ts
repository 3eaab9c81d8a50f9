import type { JobState } from '../store/schema.js';
import { UserError } from '../errors.js';

// What an operation refuses to do, as values a caller can tell apart (a web page answers 404 or
// 409, the CLI prints the message and exits 1). Each carries what the refusal is about.

/** There is no job with this id (never was, or purged). */
export class NotFound extends UserError {
  override name = 'NotFound';

  constructor(readonly jobId: number) {
    super(`no job ${jobId}`);
  }
}

/** The job exists but its state does not allow the change asked for. */
export class WrongState extends UserError {
  override name = 'WrongState';

  constructor(
    readonly jobId: number,
    readonly state: JobState,
    /** The states the change applies to. */
    readonly allowed: readonly JobState[],
    action: string,
  ) {
    super(`job ${jobId} is ${state}: only ${allowed.join(' or ')} jobs can be ${action}`);
  }
}
