/**
 * A worker's wait between claims: for `ms`, or until woken (a job enqueued, a run ended, a stop).
 * A wake-up while no wait is under way (a claim is) ends the next wait at once.
 */
export class Idle {
  #wake: (() => void) | undefined;
  #pending = false;

  wait(ms: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  /** Ends the current wait, or, if there is none, the next one. */
  wake(): void {
    if (this.#wake) this.#wake();
    else this.#pending = true;
  }
}
