import { UsageError } from '../errors.js';
import { MAX_HASH_ITERATIONS, MIN_HASH_ITERATIONS } from '../tasks/generate-users.js';
import { DEFAULT_HASH_ITERATIONS } from '../tasks/password.js';
import { formatInteger } from './output.js';

export { parseDuration } from '../queue/duration.js';

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
