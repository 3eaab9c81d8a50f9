import type { Pool, PoolConfig } from 'pg';
import { UserError } from '../../errors.js';
import { Kysely, PostgresDialect } from '../kysely.js';
import { checkSchemaName, DEFAULT_PG_SCHEMA, printableLocation, withoutPassword } from './location.js';
import type { Database } from '../schema.js';
import type { Durability } from '../store.js';
import { HeldWrites } from './held.js';
import { MIGRATIONS, PG_SCHEMA_VERSION } from './migrations.js';

/** The advisory lock's first key ("usgn"); the second is the schema's name, hashed. */
const LOCK_CLASS = 0x7573676e;

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

async function migrate(pool: Pool, url: string, schema: string, create: boolean): Promise<void> {
  const where = `schema ${schema} of ${printableLocation(url)}`;
  // The name goes into SQL unquoted: one PostgreSQL reserves (order, user) is refused here.
  const [quoted] = (await pool.query<{ name: string }>('select quote_ident($1) as name', [schema])).rows;
  if (quoted?.name !== schema) throw new UserError(`--pg-schema ${schema} is a word PostgreSQL reserves; choose another name`);
  const found = await schemaVersion(pool, schema, where);
  if (found === PG_SCHEMA_VERSION) return;
  if (!create && !found)
    throw new UserError(`no usergen tables in ${where} (check --db, $USERGEN_DB and --pg-schema; "usergen generate" creates them)`);
  const client = await pool.connect();
  try {
    await client.query('begin');
    try {
      await client.query('select pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS, schema]);
      // Read again under the lock: another process may have just created it.
      const version = await schemaVersion(client, schema, where);
      if (version === undefined) await client.query(`create schema if not exists ${schema}`);
      if (version === undefined || version === 0) {
        await client.query(`create table ${schema}.usergen_schema (version integer not null)`);
        await client.query(`insert into ${schema}.usergen_schema (version) values (0)`);
      }
      for (let step = version ?? 0; step < PG_SCHEMA_VERSION; step++) await client.query(MIGRATIONS[step]!(schema));
      await client.query(`update ${schema}.usergen_schema set version = $1`, [PG_SCHEMA_VERSION]);
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => {});
      throw error;
    }
  } finally {
    client.release();
  }
}

/**
 * The version usergen's tables are at; undefined when the schema does not exist, 0 when it exists
 * empty. Refuses a schema of something else, or one a newer usergen wrote.
 */
async function schemaVersion(queryable: Pick<Pool, 'query'>, schema: string, where: string): Promise<number | undefined> {
  const found = await queryable.query<{ tables: number; marked: boolean }>(
    `select (select count(*) from pg_class c where c.relnamespace = n.oid) as tables,
       exists (select 1 from pg_class c where c.relnamespace = n.oid and c.relname = 'usergen_schema') as marked
     from pg_namespace n where n.nspname = $1`,
    [schema],
  );
  const row = found.rows[0];
  if (!row) return undefined;
  if (!row.marked) {
    if (Number(row.tables) === 0) return 0;
    throw new UserError(`${where} holds tables that are not usergen's; choose another schema with --pg-schema (nothing was changed)`);
  }
  const { rows } = await queryable.query<{ version: number }>(`select version from ${schema}.usergen_schema`);
  const version = rows[0]?.version ?? 0;
  if (version > PG_SCHEMA_VERSION) {
    throw new UserError(
      `${where} was written by a newer usergen (schema version ${version}, this one knows up to ${PG_SCHEMA_VERSION}); upgrade usergen to use it`,
    );
  }
  return version;
}

/** An error met while connecting, as one line naming the database (never its password). */
export function describeConnectError(error: unknown, url: string): Error {
  if (error instanceof UserError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  const why = code === 'ECONNREFUSED' ? 'connection refused (is PostgreSQL running there?)' : message;
  return new UserError(withoutPassword(`cannot use ${printableLocation(url)}: ${why}`, url));
}
