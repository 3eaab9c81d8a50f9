/**
 * Runs the functions it is given in order, at most `size` at once: each holds a slot until the
 * promise it returns settles (it must not reject). What p-queue did here, without its events and
 * options, which cost promises and objects per job.
 */
export class Slots<T> {
  #free: number;
  readonly #waiting: Array<{ item: T; work: () => Promise<void> }> = [];

  constructor(size: number) {
    this.#free = size;
  }

  add(item: T, work: () => Promise<void>): void {
    if (this.#free === 0) {
      this.#waiting.push({ item, work });
      return;
    }
    this.#free -= 1;
    this.#run(work);
  }

  /** Takes out what still waits for a slot: it will not run. */
  takeWaiting(): T[] {
    return this.#waiting.splice(0).map((entry) => entry.item);
  }

  #run(work: () => Promise<void>): void {
    void work().then(() => {
      const next = this.#waiting.shift();
      if (next) this.#run(next.work);
      else this.#free += 1;
    });
  }
}
