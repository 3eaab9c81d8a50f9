// One wake-up source shared by every listener of a store: started with the first listener (one
// LISTEN connection, one folder watch), stopped with the last.

export class SharedWatch {
  readonly #start: (notify: () => void) => () => void;
  readonly #listeners = new Set<() => void>();
  #stop: (() => void) | undefined;

  constructor(start: (notify: () => void) => () => void) {
    this.#start = start;
  }

  /** Calls `listener` on each wake-up until the function returned is called. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    this.#stop ??= this.#start(() => {
      for (const each of this.#listeners) each();
    });
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size > 0) return;
      this.#stop?.();
      this.#stop = undefined;
    };
  }
}
