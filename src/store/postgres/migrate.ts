import type { Pool } from 'pg';
import { UserError } from '../../errors.js';
import { printableLocation } from './location.js';
import { MIGRATIONS, PG_SCHEMA_VERSION } from './migrations/index.js';

// Bringing usergen's schema up to date, under an advisory lock: many processes starting at once
// create it once.

/** The advisory lock's first key ("usgn"); the second is the schema's name, hashed. */
const LOCK_CLASS = 0x7573676e;

/**
 * Creates the schema if it is missing (unless `create` is false: refused), then runs the
 * migrations it has not had. A schema of something else, or one a newer usergen wrote, is refused.
 */
export async function migrate(pool: Pool, url: string, schema: string, create: boolean): Promise<void> {
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
      for (const step of Object.values(MIGRATIONS).slice(version ?? 0)) await client.query(step.up(schema));
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
