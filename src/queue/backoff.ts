export interface BackoffOptions {
  /** Delay before the second attempt; doubles with each attempt after it. */
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1_000, maxMs: 10 * 60_000 };

/**
 * Delay before the next attempt after `attempt` failed ones: exponential, with "equal jitter"
 * (half fixed, half random) so that jobs that failed together do not all come back together.
 */
export function retryDelayMs(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exponential = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (exponential / 2) * random());
}
