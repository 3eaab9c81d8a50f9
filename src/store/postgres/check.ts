import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import type { CheckReport } from '../store.js';
import { pgFaultOf } from './faults.js';

/**
 * PostgreSQL checks its pages as it reads them (and with data checksums, their contents): what
 * can be checked from here is that every table of the schema reads through to its end. A damaged
 * table is reported, not thrown; a server that cannot be reached (restarting, the network cut)
 * says nothing of the tables, and is thrown.
 */
export async function checkSchema(
  db: Kysely<Database>,
  location: string,
  kind: CheckReport['kind'],
  describe: (error: unknown) => Error,
): Promise<CheckReport> {
  const started = performance.now();
  const problems: string[] = [];
  for (const table of ['jobs', 'workers', 'users', 'backups'] as const) {
    try {
      await db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as('n'))
        .execute();
    } catch (error) {
      if (pgFaultOf(error) === 'io') throw describe(error);
      problems.push(`${table}: ${describe(error).message}`);
    }
  }
  return { file: location, kind, ok: problems.length === 0, problems, duration_ms: Math.round(performance.now() - started) };
}
