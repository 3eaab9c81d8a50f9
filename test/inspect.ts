import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { onTestFinished } from 'vitest';

// The database beside the process under test, as another client sees it: an SQLite file through
// better-sqlite3, a PostgreSQL database through node-postgres, behind the same calls. Tests write
// portable SQL with `?` placeholders; numbers come back as numbers from both (PostgreSQL sends
// bigint and numeric as strings).

export interface Probe {
  /** The first row, or undefined when there is none. */
  one<T>(sql: string, ...params: unknown[]): Promise<T | undefined>;
  all<T>(sql: string, ...params: unknown[]): Promise<T[]>;
  /** Runs a statement; how many rows it changed. */
  run(sql: string, ...params: unknown[]): Promise<number>;
  /** The first column of the first row, as a number (`select count(*) ...`). */
  count(sql: string, ...params: unknown[]): Promise<number>;
  /** Whether another connection holds a write transaction open now (so a process stopped now would block writers). */
  writeHeldElsewhere(): Promise<boolean>;
  close(): Promise<void>;
}

export interface InspectOptions {
  /** PostgreSQL: the schema of usergen's tables (default `usergen`). */
  pgSchema?: string;
}

function isPostgres(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** A connection of its own on the database at `location` (it must exist), for assertions; closed when the test ends. */
export async function inspect(location: string, options: InspectOptions = {}): Promise<Probe> {
  const probe = isPostgres(location) ? await inspectPostgres(location, options.pgSchema ?? 'usergen') : inspectSqlite(location);
  onTestFinished(() => probe.close());
  return probe;
}

/** Opens a database file directly with better-sqlite3, for assertions; closed when the test ends. */
export function inspectDb(file: string): BetterSqlite3.Database {
  const db = new BetterSqlite3(file, { fileMustExist: true });
  db.pragma('busy_timeout = 10000');
  onTestFinished(() => {
    db.close();
  });
  return db;
}

function inspectSqlite(file: string): Probe {
  const db = inspectDb(file);
  return {
    one: async <T>(sql: string, ...params: unknown[]) => db.prepare(sql).get(...params) as T | undefined,
    all: async <T>(sql: string, ...params: unknown[]) => db.prepare(sql).all(...params) as T[],
    run: async (sql, ...params) => db.prepare(sql).run(...params).changes,
    count: async (sql, ...params) =>
      Number(
        db
          .prepare(sql)
          .pluck()
          .get(...params),
      ),
    async writeHeldElsewhere() {
      db.pragma('busy_timeout = 0');
      try {
        db.exec('begin immediate');
        db.exec('rollback');
        return false;
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_BUSY') return true;
        throw error;
      } finally {
        db.pragma('busy_timeout = 10000');
      }
    },
    async close() {
      if (db.open) db.close();
    },
  };
}

const NUMERIC_TYPES = new Set<number>([pg.types.builtins.INT8, pg.types.builtins.NUMERIC]);

async function inspectPostgres(url: string, schema: string): Promise<Probe> {
  const client = new pg.Client({
    connectionString: url,
    options: `-c search_path=${schema}`,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        NUMERIC_TYPES.has(oid) ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // The test's database is dropped with (force) when the test ends, which ends this connection
  // too if it is still open: without a listener, that error would end the test process.
  client.on('error', () => {});
  await client.connect();
  let open = true;
  const query = async <T>(sql: string, params: unknown[]) => client.query(numbered(sql), params) as Promise<pg.QueryResult & { rows: T[] }>;
  return {
    one: async <T>(sql: string, ...params: unknown[]) => (await query<T>(sql, params)).rows[0],
    all: async <T>(sql: string, ...params: unknown[]) => (await query<T>(sql, params)).rows,
    run: async (sql, ...params) => (await query(sql, params)).rowCount ?? 0,
    async count(sql, ...params) {
      const { rows } = await client.query({ text: numbered(sql), values: params, rowMode: 'array' });
      return Number((rows[0] as unknown[] | undefined)?.[0]);
    },
    // A transaction that wrote or locked a row has a transaction id; one that only reads has none.
    writeHeldElsewhere: async () =>
      (
        await query<{ n: number }>(
          `select count(*) as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
         where a.datname = current_database() and l.pid <> pg_backend_pid() and l.locktype = 'transactionid'`,
          [],
        )
      ).rows[0]!.n > 0,
    async close() {
      if (!open) return;
      open = false;
      await client.end();
    },
  };
}

/** `sql` with its `?` placeholders (those outside string literals) numbered for PostgreSQL: `$1`, `$2`, ... */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/'(?:[^']|'')*'|\?/g, (match) => (match === '?' ? `$${++n}` : match));
}
