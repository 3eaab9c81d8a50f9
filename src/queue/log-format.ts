// How the worker's log lines write times, results and errors (Celery's way).

/** `250ms`, `1.5s`. */
export function formatSeconds(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${+(ms / 1000).toFixed(2)}s`;
}

/** `3.21s` since `started` (a performance.now() reading). */
export function elapsed(started: number): string {
  return `${((performance.now() - started) / 1000).toFixed(2)}s`;
}

export function describeResult(result: unknown): string {
  return typeof result === 'string' ? `'${result}'` : (JSON.stringify(result) ?? 'undefined');
}

export function describeError(error: Error): string {
  return `${error.name}('${error.message}')`;
}
