import path from 'node:path';
import type { Kysely, Transaction } from 'kysely';
import type { BackupRow, Database, NewBackup } from '../store/schema.js';

export async function recordBackup(trx: Transaction<Database>, backup: NewBackup): Promise<void> {
  await trx.insertInto('backups').values(backup).execute();
}

export async function forgetBackups(trx: Transaction<Database>, files: string[]): Promise<void> {
  if (files.length > 0) await trx.deleteFrom('backups').where('file', 'in', files).execute();
}

/** Newest first. */
export async function listBackups(db: Kysely<Database>): Promise<BackupRow[]> {
  return db.selectFrom('backups').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
}

/** When the newest backup on record was made: of all, or of those in folder `dir` (an absolute path). */
export async function newestBackupTime(db: Kysely<Database>, dir?: string): Promise<number | undefined> {
  if (dir === undefined) {
    const row = await db.selectFrom('backups').select('created_at').orderBy('created_at', 'desc').limit(1).executeTakeFirst();
    return row?.created_at;
  }
  // The folder is compared as a path, in JavaScript: SQLite's LIKE ignores case and GLOB would need
  // the path escaped. Read once as a scheduler starts; the table holds one row per backup kept.
  const rows = await db.selectFrom('backups').select(['created_at', 'file']).orderBy('created_at', 'desc').execute();
  return rows.find((row) => path.dirname(row.file) === dir)?.created_at;
}

/**
 * Makes `records` the backups on record, in one transaction: after a restore, the table the
 * restored copy brought is the one of its own past, while `records` (read just before) is what
 * exists. A record keeps its job only if the copy had it too: the copy's job ids name other jobs.
 */
export async function replaceBackupRecords(db: Kysely<Database>, records: BackupRow[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const known = new Map((await trx.selectFrom('backups').select(['file', 'job_id']).execute()).map((row) => [row.file, row.job_id]));
    await trx.deleteFrom('backups').execute();
    // 100 rows of 8 values a statement: well under SQLite's limit on bound values.
    for (let start = 0; start < records.length; start += 100) {
      const rows = records.slice(start, start + 100).map(({ id: _id, ...record }) => ({ ...record, job_id: known.get(record.file) ?? null }));
      await trx.insertInto('backups').values(rows).execute();
    }
  });
}
