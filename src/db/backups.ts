import type { Kysely, Transaction } from 'kysely';
import type { BackupRow, Database, NewBackup } from './schema.js';

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

export async function newestBackupTime(db: Kysely<Database>): Promise<number | undefined> {
  const row = await db.selectFrom('backups').select('created_at').orderBy('created_at', 'desc').limit(1).executeTakeFirst();
  return row?.created_at;
}
