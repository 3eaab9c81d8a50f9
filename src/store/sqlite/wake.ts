import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { canWrite } from './open.js';

// SQLite has no LISTEN/NOTIFY. Its stand-in: a wake file that a process touches (one utimes call)
// after committing work that is ready now; idle workers watch it (inotify on Linux, FSEvents or
// kqueue elsewhere, through fs.watch) and claim at once instead of at their next poll. The file
// lives in /dev/shm where there is one (named after the database's real path): on the database's
// own filesystem the touch is a metadata change that the next commit's fsync must also journal,
// which cost a quarter of the enqueue rate here (3,300/s against 4,500/s). Elsewhere it is
// `<database>-wake` beside the database. Watching is best effort: a filesystem without change
// notification just never fires, and polling (`worker --poll`, 200 ms by default) still
// guarantees progress.
// The file holds its database's path. The last worker on a database removes it as it stops, and
// whoever creates a wake file (a worker starting, an enqueuer finding none) first removes those
// whose database is gone. An enqueuer creates a missing file rather than skip the touch: a failed
// utimes throws, and that cost a sixth of the enqueue rate at normal durability (5.5 µs a call
// against 1.5 µs for a touch that succeeds).

const SHARED_MEMORY = '/dev/shm';

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

const WAKE_FILE_NAME = /^usergen-[0-9a-f]{24}\.wake$/;

let swept = false;

/**
 * Removes the wake files in /dev/shm whose database no longer exists (their workers were killed
 * before they could remove them). Files from before they named their database are removed once a
 * day old.
 */
function sweepStaleWakeFiles(): void {
  if (swept) return;
  swept = true;
  try {
    for (const name of fs.readdirSync(SHARED_MEMORY)) {
      if (!WAKE_FILE_NAME.test(name)) continue;
      const file = path.join(SHARED_MEMORY, name);
      try {
        // /dev/shm is everybody's: only a regular file of this user is read (a FIFO under that
        // name would block the read, and so the worker, for good).
        const stat = fs.lstatSync(file);
        if (!stat.isFile() || stat.uid !== process.getuid?.()) continue;
        const database = readWithoutBlocking(file);
        const stale = database === '' ? Date.now() - stat.mtimeMs > 86_400_000 : !fs.existsSync(database);
        if (stale) fs.rmSync(file, { force: true });
      } catch {
        // Another user's, or removed meanwhile.
      }
    }
  } catch {
    // No /dev/shm: the wake files live beside their databases.
  }
}

/** The wake file of one database: touched after a commit of work ready now, watched by idle workers. */
export class WakeFile {
  /** The wake file's path. */
  readonly file: string;
  readonly #database: string;

  /** `database`: the database file's absolute path. */
  constructor(database: string) {
    this.#database = database;
    this.file = wakeFileOf(database);
  }

  /**
   * Tells idle workers on the database that a job is ready. Never throws: a lost wake-up costs a
   * poll. `inBackground`: on libuv's thread pool, while this thread goes on (to the next commit's
   * fsync, at full durability: 8,288-8,655 enqueues/s one at a time against 7,741-8,369); at
   * normal durability the hand-over costs more than the call (29,224-31,275 against 35,230-37,372).
   */
  signal(inBackground = false): void {
    const now = new Date();
    const failed = () => {
      sweepStaleWakeFiles();
      ensureWakeFile(this.file, this.#database);
    };
    if (inBackground) {
      fs.utimes(this.file, now, now, (error) => error && failed());
      return;
    }
    try {
      fs.utimesSync(this.file, now, now);
    } catch {
      failed();
    }
  }

  /** Calls `onWork` whenever another process signals work; returns a function that stops watching. */
  watch(onWork: () => void): () => void {
    sweepStaleWakeFiles();
    const { file } = this;
    const database = this.#database;
    let watcher: fs.FSWatcher | undefined;
    let stopped = false;
    const watch = () => {
      watcher?.close();
      watcher = undefined;
      if (stopped) return;
      ensureWakeFile(file, database);
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

  /** For the last worker on the database, as it stops. */
  remove(): void {
    try {
      fs.rmSync(this.file, { force: true });
    } catch {
      // Not removable: harmless, and swept once the database is gone.
    }
  }
}

function readWithoutBlocking(file: string): string {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
  try {
    const buffer = Buffer.alloc(4096);
    return buffer.subarray(0, fs.readSync(fd, buffer)).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

function ensureWakeFile(file: string, database: string): void {
  try {
    fs.writeFileSync(file, path.resolve(database), { flag: 'wx', mode: 0o600 });
  } catch {
    // There already (another worker's), or not creatable (read-only folder): workers fall back
    // to polling.
  }
}

/**
 * Calls `onCommit` after any process writes to the database (its WAL, or the file itself at a
 * checkpoint): what a wait for a job to end wakes on. It watches the folder, not the files, so
 * that a WAL deleted and made again is still seen, and it opens neither file: a close() of any
 * descriptor of the database would drop this process's SQLite locks. Best effort, as the wake
 * file: the waiter reads again at its own pace all the same.
 */
export function watchCommits(database: string, onCommit: () => void): () => void {
  const names = new Set([path.basename(database), `${path.basename(database)}-wal`]);
  let watcher: fs.FSWatcher | undefined;
  try {
    watcher = fs.watch(path.dirname(database), { persistent: false }, (_event, name) => {
      if (name === null || names.has(String(name))) onCommit();
    });
    watcher.on('error', () => watcher?.close());
  } catch {
    // Not watchable: the waiter's own reads find the end.
  }
  return () => watcher?.close();
}
