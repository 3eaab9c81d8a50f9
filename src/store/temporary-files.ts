import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processExists, thisHost } from '../host.js';

// The temporary files a backup is written to before its rename, whichever engine writes it (an
// SQLite copy, a pg_dump archive), and their clean-up once the process writing one was killed.

/**
 * `.usergen-<time>.db.<host>-<pid>.tmp` (or `.dump.`), and the journal SQLite keeps beside a copy
 * while `VACUUM INTO` writes it. Names from before the host tag (`.usergen-<time>.db.<pid>.tmp`)
 * match with no tag.
 */
const TEMPORARY_NAME = /^\.usergen-[^/]+\.(?:db|dump)\.(?:([0-9a-f]{8})-)?(\d+)\.tmp(?:-journal|-wal|-shm)?$/;

/**
 * A temporary file untouched this long is no copy in progress, whoever made it: `VACUUM INTO` and
 * pg_dump keep writing it until the rename, and the longest copy measured (1,000,000 users) takes
 * seconds.
 */
const ABANDONED_AFTER_MS = 24 * 3600 * 1000;

/** Where this process writes the backup `target` before renaming it: beside it, hidden, tagged with this host and pid. */
export function temporaryNameOf(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${hostTag()}-${process.pid}.tmp`);
}

/**
 * Which host a temporary file's pid belongs to: 8 hex digits of this boot and pid namespace. A pid
 * names a process only there: two containers sharing a backup folder see different processes
 * under one pid, and a restarted container (a new namespace) gets the same small pids again.
 * Without /proc (macOS) the host name stands in.
 */
export function hostTag(): string {
  const { boot_id, pid_namespace } = thisHost();
  const identity = boot_id === null || pid_namespace === null ? `host:${os.hostname()}` : `${boot_id}\n${pid_namespace}`;
  return createHash('sha256').update(identity).digest('hex').slice(0, 8);
}

/**
 * Deletes the temporary files in `dir` of backups whose process is gone (killed mid-copy: nothing
 * ran its clean-up), and returns their paths. Whether the process is gone can be asked only of a
 * file tagged with this host; one of another host (or untagged, from an older version) may be a
 * copy in progress there, so it goes only once it is a day old. That day also clears this host's
 * files whose pid has since been reused.
 */
export function removeAbandonedTemporaryFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const here = hostTag();
  const removed: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const match = TEMPORARY_NAME.exec(entry.name);
    if (!entry.isFile() || match === null) continue;
    const [, tag, pid] = match;
    const file = path.join(dir, entry.name);
    const gone = tag === here && !processExists(Number(pid));
    if (!gone && !isStale(file)) continue;
    fs.rmSync(file, { force: true });
    removed.push(file);
  }
  return removed;
}

function isStale(file: string): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs > ABANDONED_AFTER_MS;
  } catch {
    // Renamed or deleted by its own process meanwhile: nothing to clean.
    return false;
  }
}

/** fsyncs a file, or a folder (its entries: a rename into it). */
export function fsyncPath(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
