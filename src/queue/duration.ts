import { UsageError } from '../errors.js';

const DURATION_UNITS_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

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

/** Milliseconds in the largest unit that divides them: `1h`, `90s`, `250ms`. */
export function durationLabel(ms: number): string {
  const units = Object.entries(DURATION_UNITS_MS).reverse();
  const [unit, size] = units.find(([, size]) => ms % size === 0 && ms >= size) ?? ['ms', 1];
  return `${ms / size}${unit}`;
}
