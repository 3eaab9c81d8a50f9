/** A failure that another attempt cannot fix (unknown task, invalid payload): the job fails at once. */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
}

/** The job's lease was lost (it expired and another worker took the job, or it was cancelled). */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}

/** The task ran past its `timeoutMs`. */
export class JobTimeoutError extends Error {
  override name = 'JobTimeoutError';
}

/** The worker is shutting down and gives the job back to the queue. */
export class ShutdownError extends Error {
  override name = 'ShutdownError';
}

export interface StoredError {
  name: string;
  message: string;
  stack?: string;
}

export function serializeError(error: Error): string {
  const stored: StoredError = { name: error.name, message: error.message, stack: error.stack };
  return JSON.stringify(stored);
}

export function parseStoredError(text: string | null): StoredError | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as StoredError;
  } catch {
    return { name: 'Error', message: text };
  }
}
