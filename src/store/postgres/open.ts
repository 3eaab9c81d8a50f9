import type { Pool, PoolConfig } from 'pg';
import { UserError } from '../../errors.js';
import { Kysely, PostgresDialect } from '../kysely.js';
import { checkSchemaName, DEFAULT_PG_SCHEMA, printableLocation, withoutPassword } from './location.js';
import type { Database } from '../schema.js';
import type { Durability } from '../store.js';
import { HeldWrites } from './held.js';
import { migrate } from './migrate.js';

export interface PgOpenOptions {
  durability?: Durability | undefined;
  /** The schema that holds usergen's tables (default `usergen`). */
  schema?: string | undefined;
  /** Connections in the pool (default 10). */
  connections?: number | undefined;
  /** Create usergen's tables if the schema has none (default true); false refuses such a database. */
  create?: boolean | undefined;
}

export interface OpenedPg {
  pool: Pool;
  /** kysely on the pool, for everyone: refused inside a held write (see HeldWrites). */
  db: Kysely<Database>;
  /** The same without that check: the store's own transactions start here. */
  writer: Kysely<Database>;
  held: HeldWrites;
  url: string;
  schema: string;
  durability: Durability;
  /** What `pg.Client` is, for connections of their own (LISTEN). */
  Client: typeof import('pg').Client;
  config: PoolConfig;
}

/**
 * Connects to the database `url` names and brings usergen's schema up to date, under an advisory
 * lock: many processes starting at once create it once. A schema that a newer usergen wrote, or
 * one that holds tables of something else, is refused and left untouched.
 */
export async function openPostgres(url: string, options: PgOpenOptions = {}): Promise<OpenedPg> {
  const schema = checkSchemaName(options.schema ?? DEFAULT_PG_SCHEMA);
  const durability = options.durability ?? 'full';
  // Loaded here, not at the top: an SQLite user never pays for it.
  const pg = (await import('pg')).default;
  const settings = [`-c search_path=${schema}`];
  // `full`: a commit returns once its WAL is flushed, whatever the server's default. `normal`: before;
  // a crash of the server may lose the last ones (never corrupt anything), as synchronous=NORMAL
  // does for the SQLite file.
  settings.push(`-c synchronous_commit=${durability === 'normal' ? 'off' : 'on'}`);
  // node-postgres lets an `options` parameter of the URL replace the `options` given here (and with
  // it the schema's search path and the durability): the URL's go first, usergen's after, and the
  // server keeps the last value of each setting.
  const connection = new URL(url);
  const theirs = connection.searchParams.get('options');
  connection.searchParams.delete('options');
  if (theirs) settings.unshift(theirs);
  const config: PoolConfig = {
    connectionString: connection.href,
    max: options.connections ?? 10,
    // A connection that cannot be made in 10 s fails its query (a worker then retries at its next
    // poll); TCP keepalives find a server gone without a word (a host cut off) on idle connections.
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
    application_name: 'usergen',
    options: settings.join(' '),
    // bigint columns (ids, times in ms) come back as numbers, as from the SQLite file: every one
    // of them is far below 2^53.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  };
  const pool = new pg.Pool(config);
  // A connection the server drops (restart, an administrator, the network) must not crash the
  // process. The pool listens on its idle connections only; one handed out (a transaction between
  // two statements) emits its error with no listener, which ends the process. With one of its
  // own, the statement that next uses it fails ("not queryable"), and the pool discards it when it
  // comes back.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  try {
    await migrate(pool, url, schema, options.create ?? true);
  } catch (error) {
    await pool.end().catch(() => {});
    throw describeConnectError(error, url);
  }
  const writer = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }).withSchema(schema);
  const held = new HeldWrites();
  return { pool, db: writer.withPlugin(held), writer, held, url, schema, durability, Client: pg.Client, config };
}

/** An error met while connecting, as one line naming the database (never its password). */
export function describeConnectError(error: unknown, url: string): Error {
  if (error instanceof UserError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  const why = code === 'ECONNREFUSED' ? 'connection refused (is PostgreSQL running there?)' : message;
  return new UserError(withoutPassword(`cannot use ${printableLocation(url)}: ${why}`, url));
}
