import fs from 'node:fs';
import type { Kysely } from 'kysely';
import { fileOfDatabase } from '../db/open.js';
import type { Database } from '../db/schema.js';

// SQLite has no LISTEN/NOTIFY. Its stand-in: a file beside the database, `<database>-wake`, that
// a process touches (one utimes call) after committing work that is ready now; idle workers watch
// it (inotify on Linux, FSEvents/kqueue elsewhere, through fs.watch) and claim at once instead of
// at their next poll. Watching is best effort: a filesystem without change notification (some
// network mounts) just never fires, and polling (`worker --poll`, 200 ms by default) still
// guarantees progress.

export function wakeFileOf(databaseFile: string): string {
  return `${databaseFile}-wake`;
}

/** Tells idle workers on `db`'s file that a job is ready. Never throws: a lost wake-up costs a poll. */
export function signalWork(db: Kysely<Database>): void {
  const file = wakeFileOf(fileOfDatabase(db));
  const now = new Date();
  try {
    fs.utimesSync(file, now, now);
  } catch {
    ensureWakeFile(file);
  }
}

/** Calls `onWork` whenever another process signals work on `db`'s file; returns a function that stops watching. */
export function watchForWork(db: Kysely<Database>, onWork: () => void): () => void {
  const file = wakeFileOf(fileOfDatabase(db));
  ensureWakeFile(file);
  try {
    const watcher = fs.watch(file, { persistent: false }, () => onWork());
    watcher.on('error', () => watcher.close());
    return () => watcher.close();
  } catch {
    return () => {};
  }
}

function ensureWakeFile(file: string): void {
  try {
    fs.closeSync(fs.openSync(file, 'a', 0o600));
  } catch {
    // Not creatable (read-only folder): workers fall back to polling.
  }
}
