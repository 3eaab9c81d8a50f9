import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

type Write<T> = (trx: Transaction<Database>) => Promise<T>;

interface Pending {
  write: Write<unknown>;
  /** One statement (atomic by itself): alone, it may run in autocommit. */
  single: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: writes submitted while a transaction is being committed go together into the
 * next one, so many jobs share one fsync (at synchronous=FULL a commit costs one; this machine
 * does about 4,500 a second). Each write runs in a savepoint of its own: one that throws is rolled
 * back alone and its promise rejects; the others commit. The first write after a quiet spell is
 * committed at once, alone; those that arrive meanwhile make the next batch.
 */
export class GroupCommitter {
  readonly #db: Kysely<Database>;
  #pending: Pending[] = [];
  #flushing = false;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  submit<T>(write: Write<T>, options: { single?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ write, single: options.single ?? false, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending;
        this.#pending = [];
        await this.#commit(batch);
      }
    } finally {
      this.#flushing = false;
    }
  }

  async #commit(batch: Pending[]): Promise<void> {
    const [first] = batch;
    if (batch.length === 1 && first!.single) {
      // Autocommit: BEGIN and COMMIT would only add two statements around it.
      await first!.write(this.#db as Transaction<Database>).then(first!.resolve, first!.reject);
      return;
    }
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      await this.#db.transaction().execute(async (trx) => {
        for (const item of batch) {
          if (batch.length === 1) {
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
            await sql`rollback to grouped_write`.execute(trx);
            outcomes.push({ ok: false, error });
          }
          await sql`release grouped_write`.execute(trx);
        }
      });
    } catch (error) {
      // The transaction itself failed (or a lone write threw): nothing of it committed.
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }
}

const committers = new WeakMap<Kysely<Database>, GroupCommitter>();

/** The group committer of a database handle (one per handle: they share its one connection). */
export function groupCommitterOf(db: Kysely<Database>): GroupCommitter {
  let committer = committers.get(db);
  if (!committer) {
    committer = new GroupCommitter(db);
    committers.set(db, committer);
  }
  return committer;
}
