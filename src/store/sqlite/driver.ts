import { AsyncLocalStorage } from 'node:async_hooks';
import type BetterSqlite3 from 'better-sqlite3';
import type { DatabaseConnection, Dialect, Driver, Kysely, QueryResult } from 'kysely';
import { tagDatabaseError } from './faults.js';
import { CompiledQuery, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler } from '../kysely.js';

/**
 * kysely's own SqliteDialect begins transactions with a plain (DEFERRED) `BEGIN`: a transaction
 * that reads first and writes later can then fail with SQLITE_BUSY when another process wrote in
 * between, and the busy timeout cannot help. Every transaction here is `BEGIN IMMEDIATE`: it takes
 * the write lock up front and waits for it under the busy timeout instead.
 * It also keeps prepared statements (kysely's driver prepares each query anew).
 */
export class ImmediateSqliteDialect implements Dialect {
  readonly #database: BetterSqlite3.Database;
  #driver: ImmediateSqliteDriver | undefined;

  constructor(database: BetterSqlite3.Database) {
    this.#database = database;
  }

  createDriver(): Driver {
    this.#driver = new ImmediateSqliteDriver(this.#database);
    return this.#driver;
  }

  /** The driver kysely made (once it has made it): the connection, for executeNow and holdingConnection. */
  get driver(): ImmediateSqliteDriver {
    if (!this.#driver) throw new Error('the dialect has not made its driver yet');
    return this.#driver;
  }

  createQueryCompiler() {
    return new SqliteQueryCompiler();
  }

  createAdapter() {
    return new SqliteAdapter();
  }

  // biome-ignore lint/suspicious/noExplicitAny: kysely's Dialect interface takes any database.
  createIntrospector(db: Kysely<any>) {
    return new SqliteIntrospector(db);
  }
}

const STATEMENT_CACHE_SIZE = 200;

interface Hold {
  driver: ImmediateSqliteDriver;
  message: string;
  /** False once the callback has settled: work it left behind then waits its turn like any other. */
  open: boolean;
}

/**
 * Which transaction callback a query comes from. On Node 20 a `run` turns promise hooks on for
 * the whole process: every await then costs about 108ns instead of 38ns (measured here). So only
 * task callbacks run in it, and it is disabled again whenever none runs, which turns the hooks
 * off (back to 39ns): a worker pays only while a callback of a task's completion runs.
 */
const holds = new AsyncLocalStorage<Hold>();
let holding = 0;

/**
 * Runs `callback`, which was given a transaction holding `db`'s one connection. A query on `db`
 * itself from inside it would wait for that connection, forever (and every query behind it): it
 * rejects at once with `message` instead. Queries from outside the callback wait their turn as usual.
 */
export async function holdingConnection<T>(driver: ImmediateSqliteDriver, message: string, callback: () => Promise<T>): Promise<T> {
  const hold: Hold = { driver, message, open: true };
  holding += 1;
  try {
    return await holds.run(hold, callback);
  } finally {
    hold.open = false;
    holding -= 1;
    if (holding === 0) holds.disable();
  }
}

/** The error for work on `driver` that would wait for the connection its caller's transaction holds; undefined when it would not. */
export function heldConnectionError(driver: ImmediateSqliteDriver): Error | undefined {
  const hold = holds.getStore();
  return hold?.open && hold.driver === driver ? new Error(hold.message) : undefined;
}

export class ImmediateSqliteDriver implements Driver {
  readonly #connection: CachingSqliteConnection;
  // SQLite has one connection per handle: queries wait their turn, a transaction holds it throughout.
  #lock: Promise<void> = Promise.resolve();
  #unlock: (() => void) | undefined;

  constructor(database: BetterSqlite3.Database) {
    this.#connection = new CachingSqliteConnection(database);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const held = heldConnectionError(this);
    if (held) throw held;
    while (this.#unlock) await this.#lock;
    this.#lock = new Promise((resolve) => {
      this.#unlock = resolve;
    });
    return this.#connection;
  }

  async releaseConnection(): Promise<void> {
    const unlock = this.#unlock;
    this.#unlock = undefined;
    unlock?.();
  }

  /**
   * Runs `work` with the connection to itself, synchronously, once whatever holds it now is done.
   * For a hot path of several statements (the claim): each statement through kysely costs a few
   * microseconds of promises, here none.
   */
  async exclusive<T>(work: (connection: SyncConnection) => T): Promise<T> {
    await this.acquireConnection();
    try {
      return work(this.#connection);
    } finally {
      await this.releaseConnection();
    }
  }

  /**
   * Runs `query` at once, synchronously, if nothing holds the connection (no transaction or query
   * under way); returns undefined otherwise: the caller then goes through kysely as usual. Only
   * for single statements on the hottest path (an enqueue): kysely's executor costs a few
   * microseconds per query in promises, a fifth of an enqueue at normal durability.
   */
  executeNow<R>(query: CompiledQuery): QueryResult<R> | undefined {
    if (this.#unlock) return undefined;
    return this.#connection.execute<R>(query);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    // SQLite has rolled back already after some errors (disk full, I/O): a ROLLBACK then fails
    // with "no transaction is active", and that error would replace the one that matters.
    if (!this.#connection.inTransaction) return;
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async destroy(): Promise<void> {
    this.#connection.close();
  }
}

/** The connection, as `exclusive` hands it: statements run synchronously. */
export interface SyncConnection {
  execute<R>(query: CompiledQuery): QueryResult<R>;
  readonly inTransaction: boolean;
}

class CachingSqliteConnection implements DatabaseConnection, SyncConnection {
  readonly #database: BetterSqlite3.Database;
  readonly #statements = new Map<string, BetterSqlite3.Statement>();

  constructor(database: BetterSqlite3.Database) {
    this.#database = database;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.execute<R>(query);
  }

  get inTransaction(): boolean {
    return this.#database.open && this.#database.inTransaction;
  }

  execute<R>(query: CompiledQuery): QueryResult<R> {
    try {
      const statement = this.#prepare(query.sql);
      const parameters = query.parameters as unknown[];
      if (statement.reader) return { rows: statement.all(parameters) as R[] };
      const { changes, lastInsertRowid } = statement.run(parameters);
      return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
    } catch (error) {
      tagDatabaseError(error, this.#database.name);
      throw error;
    }
  }

  // biome-ignore lint/correctness/useYield: kysely asks for the method; it only refuses.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported');
  }

  close(): void {
    this.#statements.clear();
    if (this.#database.open) this.#database.close();
  }

  #prepare(sql: string): BetterSqlite3.Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#database.prepare(sql);
      if (this.#statements.size >= STATEMENT_CACHE_SIZE) {
        const oldest = this.#statements.keys().next().value;
        if (oldest !== undefined) this.#statements.delete(oldest);
      }
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}
