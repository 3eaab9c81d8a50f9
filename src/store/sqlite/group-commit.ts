import type { Kysely, Transaction } from 'kysely';
import { heldConnectionError, type ImmediateSqliteDriver } from './driver.js';
import { sql } from '../kysely.js';
import type { Database } from '../schema.js';
import type { BatchedCompletion } from '../store.js';
import { liveCompletions, settleCompletions, type PendingCompletion, type Written } from '../completions.js';
import { completeJobs } from './jobs.js';

type Write<T> = (trx: Transaction<Database>) => Promise<T>;

interface PendingWrite {
  write: Write<unknown>;
  /** One statement (atomic by itself): alone, it may run in autocommit. */
  single: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: writes submitted while a transaction is being committed go together into the
 * next one, so many jobs share one fsync (at synchronous=FULL a commit costs one; this machine
 * does about 6,000 a second). Each write runs in a savepoint of its own: one that throws is rolled
 * back alone and its promise rejects; the others commit. A write after a quiet spell is committed
 * at once; those that arrive meanwhile make the next batch.
 * Completions of jobs that wrote nothing of their own are gathered until the event loop turns
 * (jobs finishing together finish in one batch) and written by one UPDATE for the whole batch.
 */
export class GroupCommitter {
  readonly #db: Kysely<Database>;
  readonly #driver: ImmediateSqliteDriver;
  #writes: PendingWrite[] = [];
  #completions: PendingCompletion[] = [];
  #flushing = false;
  #scheduled = false;

  constructor(db: Kysely<Database>, driver: ImmediateSqliteDriver) {
    this.#db = db;
    this.#driver = driver;
  }

  /** Nothing under way or waiting: a write now would be committed alone, at once. */
  get idle(): boolean {
    return !this.#flushing && !this.#scheduled && this.#writes.length === 0 && this.#completions.length === 0;
  }

  submit<T>(write: Write<T>, options: { single?: boolean } = {}): Promise<T> {
    // From inside a batch's own write (an enqueue on `db` in complete()'s callback), it would wait
    // for the next batch, which waits for this one.
    const held = heldConnectionError(this.#driver);
    if (held) return Promise.reject(held);
    return new Promise<T>((resolve, reject) => {
      this.#writes.push({ write, single: options.single ?? false, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  /** Resolves true once the job is recorded succeeded, false when it was no longer held. */
  complete(completion: BatchedCompletion): Promise<boolean> {
    const held = heldConnectionError(this.#driver);
    if (held) return Promise.reject(held);
    return new Promise<boolean>((resolve, reject) => {
      this.#completions.push({ ...completion, resolve, reject });
      if (!this.#flushing && !this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          if (!this.#flushing) void this.#flush();
        });
      }
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#writes.length > 0 || this.#completions.length > 0) {
        const writes = this.#writes;
        const completions = this.#completions;
        this.#writes = [];
        this.#completions = [];
        await this.#commit(writes, completions);
      }
    } finally {
      this.#flushing = false;
    }
  }

  async #commit(writes: PendingWrite[], completions: PendingCompletion[]): Promise<void> {
    if (writes.length === 0) {
      // Held from the abort check to the UPDATE, so that nothing (a claim) runs in between.
      const written = await this.#db
        .connection()
        .execute((connection) => writeCompletions(connection, completions))
        .catch((error: unknown) => ({ error }));
      settleCompletions(completions, written);
      return;
    }
    const [first] = writes;
    if (writes.length === 1 && first!.single && completions.length === 0) {
      // One statement alone is atomic: BEGIN and COMMIT would only add two statements around it.
      await first!.write(this.#db as Transaction<Database>).then(first!.resolve, first!.reject);
      return;
    }
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    let written: Written = { held: new Set() };
    try {
      await this.#db.transaction().execute(async (trx) => {
        const alone = writes.length === 1 && completions.length === 0;
        for (const item of writes) {
          if (alone) {
            outcomes.push({ ok: true, value: await item.write(trx) });
            continue;
          }
          // A savepoint even for one statement: an error that ends the whole transaction (disk
          // full, I/O) then makes the ROLLBACK TO below fail too, so the batch stops and nothing
          // after it runs outside the transaction.
          await sql`savepoint grouped_write`.execute(trx);
          try {
            outcomes.push({ ok: true, value: await item.write(trx) });
          } catch (error) {
            // When the error ended the transaction, ROLLBACK TO fails too: the batch stops with
            // the write's own error, not "no such savepoint".
            await sql`rollback to grouped_write`.execute(trx).catch(() => {
              throw error;
            });
            outcomes.push({ ok: false, error });
          }
          await sql`release grouped_write`.execute(trx);
        }
        written = await writeCompletions(trx, completions);
      });
    } catch (error) {
      // The transaction itself failed (or a lone write threw): nothing of it committed.
      for (const item of writes) item.reject(error);
      settleCompletions(completions, { error });
      return;
    }
    writes.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
    settleCompletions(completions, written);
  }
}

/** Rejects the completions of jobs aborted meanwhile, and marks the others in one statement. */
async function writeCompletions(db: Kysely<Database>, completions: PendingCompletion[]): Promise<Written> {
  const live = liveCompletions(completions);
  return { held: live.length > 0 ? await completeJobs(db, live) : new Set() };
}
