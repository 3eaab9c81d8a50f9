/** A command was called wrongly (bad argument, bad option): exit 2, nothing changed. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** An expected runtime failure the user can act on (unusable file, failed job): exit 1. */
export class UserError extends Error {
  override name = 'UserError';
}

/** The user interrupted the command (Ctrl-C, SIGTERM): exit 130, as a shell reports SIGINT. */
export class InterruptedError extends UserError {
  override name = 'InterruptedError';
}

/** Normalises anything thrown (strings, objects, undefined) into an Error. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'string') return new Error(value);
  try {
    return new Error(JSON.stringify(value) ?? String(value));
  } catch {
    return new Error(String(value));
  }
}
