import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { expect } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import { isBackupFileName } from '../../src/tasks/backup.js';
import { tempDb, type CliProcess } from '../helpers.js';

/** A fresh folder with a new, empty usergen database in it (the backup commands refuse a missing file). */
export async function tempDatabase(): Promise<{ dir: string; db: string }> {
  const temp = tempDb();
  await (await openSqliteStore(temp.db)).close();
  return temp;
}

/** The backup files in `dir`, oldest first. */
export function backupFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter(isBackupFileName)
    .sort()
    .map((name) => path.join(dir, name));
}

/** Backups a scheduler (or `backup`) says it wrote. */
export function backupsWritten(process: CliProcess): number {
  return process.stdout().split('Backup written: ').length - 1;
}

/** Users in a backup file against what its own job table says was generated: equal in a consistent copy. */
export function checkSnapshot(file: string): { users: number } {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const users = db.prepare('select count(*) from users').pluck().get() as number;
    const generated = db
      .prepare(`select coalesce(sum(json_extract(payload, '$.total')), 0) from jobs where task = 'generate_users' and state = 'succeeded'`)
      .pluck()
      .get() as number;
    expect(users).toBe(generated);
    return { users };
  } finally {
    db.close();
  }
}
