import { UsageError } from '../errors.js';
import { MAX_HASH_ITERATIONS, MIN_HASH_ITERATIONS } from '../tasks/generate-users.js';
import { DEFAULT_HASH_ITERATIONS } from '../tasks/password.js';
import { formatInteger } from './output.js';

const DURATION_UNITS_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * A whole number written plainly: digits, an optional leading minus where `min` is negative.
 * `1e2`, `0x40`, `1.5`, ` 7`, `+3` and the empty string are refused, not coerced.
 */
export function parseInteger(text: string, what: string, min: number, max: number): number {
  const pattern = min < 0 ? /^-?\d+$/ : /^\d+$/;
  const value = Number(text);
  if (!pattern.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${what} must be an integer from ${formatInteger(min)} to ${formatInteger(max)}, got '${text}'`);
  }
  return value;
}

/** `<integer><unit>` with unit ms, s, m, h or d (`250ms`, `30s`, `1h`), in milliseconds. */
export function parseDuration(text: string, what: string, minMs = 0): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  const ms = match ? Number(match[1]) * DURATION_UNITS_MS[match[2] as keyof typeof DURATION_UNITS_MS] : NaN;
  if (!Number.isSafeInteger(ms)) {
    throw new UsageError(`${what} must be a duration like 250ms, 30s, 5m, 1h or 1d, got '${text}'`);
  }
  if (ms < minMs) throw new UsageError(`${what} must be at least ${minMs}ms, got '${text}'`);
  return ms;
}

export function parseChoice<T extends string>(text: string, what: string, choices: readonly T[]): T {
  const choice = choices.find((c) => c === text.toLowerCase());
  if (choice === undefined) throw new UsageError(`${what} must be one of ${choices.join(', ')}, got '${text}'`);
  return choice;
}

/** `--hash-iterations`, else $USERGEN_HASH_ITERATIONS, else the default: PBKDF2 iterations of the users made. */
export function parseHashIterations(flag: string | undefined): number {
  const text = flag ?? process.env.USERGEN_HASH_ITERATIONS;
  return text === undefined ? DEFAULT_HASH_ITERATIONS : parseInteger(text, '--hash-iterations', MIN_HASH_ITERATIONS, MAX_HASH_ITERATIONS);
}
