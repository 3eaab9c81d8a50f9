import { formatSeconds } from './log-format.js';
import type { Logger } from './worker-types.js';

/**
 * Logs a failure that repeats (a claim or heartbeat failing every second on a full disk) once,
 * then only at its 10th, 100th, 1000th... time in a row, and once when it stops: a log that says
 * the same line every second buries everything else.
 */
export class RepeatedFailure {
  readonly #log: Logger;
  readonly #what: string;
  #count = 0;

  constructor(log: Logger, what: string) {
    this.#log = log;
    this.#what = what;
  }

  /** Records one more failure in a row; returns how many there have been. */
  failed(message: string, retryMs: number): number {
    this.#count += 1;
    if (this.#count === 1) {
      this.#log.warn(`${this.#what} failed: ${message}; trying again every ${formatSeconds(retryMs)}`);
    } else if (/^10+$/.test(String(this.#count))) {
      this.#log.warn(`${this.#what} failed ${this.#count} times in a row: ${message}; still trying`);
    } else {
      this.#log.debug(`${this.#what} failed again (${this.#count} in a row): ${message}`);
    }
    return this.#count;
  }

  succeeded(): void {
    if (this.#count === 0) return;
    this.#log.info(`${this.#what} works again after ${this.#count} failure(s) in a row`);
    this.#count = 0;
  }
}
