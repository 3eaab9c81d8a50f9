import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { canWrite, fileOfDatabase } from '../db/open.js';
import type { Database } from '../db/schema.js';

// SQLite has no LISTEN/NOTIFY. Its stand-in: a wake file that a process touches (one utimes call)
// after committing work that is ready now; idle workers watch it (inotify on Linux, FSEvents or
// kqueue elsewhere, through fs.watch) and claim at once instead of at their next poll. The file
// lives in /dev/shm where there is one (named after the database's real path): on the database's
// own filesystem the touch is a metadata change that the next commit's fsync must also journal,
// which cost a quarter of the enqueue rate here (3,300/s against 4,500/s). Elsewhere it is
// `<database>-wake` beside the database. Watching is best effort: a filesystem without change
// notification just never fires, and polling (`worker --poll`, 200 ms by default) still
// guarantees progress.

const SHARED_MEMORY = '/dev/shm';
const wakeFiles = new WeakMap<Kysely<Database>, string>();

export function wakeFileOf(databaseFile: string): string {
  if (!canWrite(SHARED_MEMORY)) return `${databaseFile}-wake`;
  let real = databaseFile;
  try {
    real = fs.realpathSync(databaseFile);
  } catch {
    // Not there (yet): its path as given names it.
  }
  const digest = createHash('sha256').update(real).digest('hex').slice(0, 24);
  return path.join(SHARED_MEMORY, `usergen-${digest}.wake`);
}

function wakeFile(db: Kysely<Database>): string {
  let file = wakeFiles.get(db);
  if (file === undefined) {
    file = wakeFileOf(fileOfDatabase(db));
    wakeFiles.set(db, file);
  }
  return file;
}

/** Tells idle workers on `db`'s file that a job is ready. Never throws: a lost wake-up costs a poll. */
export function signalWork(db: Kysely<Database>): void {
  try {
    const file = wakeFile(db);
    const now = new Date();
    try {
      fs.utimesSync(file, now, now);
    } catch {
      ensureWakeFile(file);
    }
  } catch {
    // No file known for this handle (a transaction): the workers' poll finds the job.
  }
}

/** Calls `onWork` whenever another process signals work on `db`'s file; returns a function that stops watching. */
export function watchForWork(db: Kysely<Database>, onWork: () => void): () => void {
  const file = wakeFile(db);
  let watcher: fs.FSWatcher | undefined;
  let stopped = false;
  const watch = () => {
    watcher?.close();
    watcher = undefined;
    if (stopped) return;
    ensureWakeFile(file);
    try {
      watcher = fs.watch(file, { persistent: false }, (event) => {
        onWork();
        // Deleted or replaced (a temp cleaner): a watch on the old file would never fire again.
        if (event === 'rename') watch();
      });
      watcher.on('error', watch);
    } catch {
      // Not watchable: polling it is.
    }
  };
  watch();
  return () => {
    stopped = true;
    watcher?.close();
  };
}

function ensureWakeFile(file: string): void {
  try {
    fs.closeSync(fs.openSync(file, 'a', 0o600));
  } catch {
    // Not creatable (read-only folder): workers fall back to polling.
  }
}
