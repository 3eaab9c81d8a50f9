import { createRequire } from 'node:module';
import type * as KyselyModule from 'kysely';

/**
 * kysely's CommonJS build, the one copy every module of usergen uses. Its ES module build is the
 * same code in 280 modules, which cost a worker 3.4 MiB more resident memory (of a 70 MiB budget).
 * Types still come from `kysely` directly (`import type`): they are the same declarations.
 */
const kysely = createRequire(import.meta.url)('kysely') as typeof KyselyModule;

export const { CompiledQuery, Kysely, Migrator, PostgresDialect, sql, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler } = kysely;
export type Kysely<DB> = KyselyModule.Kysely<DB>;
export type CompiledQuery<O = unknown> = KyselyModule.CompiledQuery<O>;
