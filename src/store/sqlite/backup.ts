import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { UserError } from '../../errors.js';
import type { BackupCopy } from '../store.js';
import { fsyncPath, temporaryNameOf } from '../temporary-files.js';
import { APPLICATION_ID } from './migrate.js';
import { SCHEMA_VERSION } from './migrations/index.js';

// Whole-file copies of a database: consistent online snapshots, their checks, and restores.

// Backups of both engines have temporary files: their names and clean-up live beside the store.
export { hostTag, removeAbandonedTemporaryFiles } from '../temporary-files.js';

export type SnapshotInfo = BackupCopy;

/**
 * Writes a consistent copy of `sourceFile` to `targetFile` while other processes keep writing, on
 * a thread of its own: the copy of a 1,000,000-user file takes about 1.6 s of synchronous SQLite
 * work, which would otherwise freeze this process's event loop (heartbeats, other jobs).
 */
export async function writeSnapshot(sourceFile: string, targetFile: string, jobId: number): Promise<SnapshotInfo> {
  const thread = new Worker(new URL('./backup-thread.js', import.meta.url), {
    workerData: { sourceFile, targetFile, jobId } satisfies SnapshotRequest,
  });
  const [reply] = (await once(thread, 'message')) as [SnapshotReply];
  if ('info' in reply) return reply.info;
  throw reply.userError ? new UserError(reply.message) : new Error(reply.message);
}

export interface SnapshotRequest {
  sourceFile: string;
  targetFile: string;
  jobId: number;
}

export type SnapshotReply = { info: SnapshotInfo } | { message: string; userError: boolean };

/**
 * The copy itself (see writeSnapshot). `VACUUM INTO` copies inside one read transaction on a
 * connection of its own: a snapshot as of its start that never blocks writers (WAL). The online
 * backup API was not used: it restarts whenever another connection writes to the source, so under
 * a busy queue it may never finish. The copy goes to a temporary name (created 0600 first, so it
 * is never readable by others), is checked with `integrity_check`, fsynced, and only then renamed
 * into place. In the copy, the backup's own job (`jobId`, running when the copy was taken) is
 * marked succeeded: restored, the copy must not run that backup again.
 */
export function writeSnapshotSync({ sourceFile, targetFile, jobId }: SnapshotRequest): SnapshotInfo {
  const temporary = temporaryNameOf(targetFile);
  fs.closeSync(fs.openSync(temporary, 'wx', 0o600));
  try {
    const source = new BetterSqlite3(sourceFile, { fileMustExist: true });
    try {
      source.pragma('busy_timeout = 10000');
      source.prepare('vacuum into ?').run(temporary);
    } finally {
      source.close();
    }
    const copy = new BetterSqlite3(temporary, { fileMustExist: true });
    try {
      copy
        .prepare("update jobs set state = 'succeeded', finished_at = ?, locked_by = null, locked_until = null where id = ? and state = 'running'")
        .run(Date.now(), jobId);
    } finally {
      copy.close();
    }
    const info = inspectSnapshot(temporary);
    fsyncPath(temporary);
    fs.renameSync(temporary, targetFile);
    fsyncPath(path.dirname(targetFile));
    return info;
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}

/**
 * Checks that `file` is a sound usergen database this version can open (not a newer schema) and
 * counts what it holds. Opens it read-only: the file is not changed.
 */
export function inspectSnapshot(file: string): SnapshotInfo {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new UserError(`no such file: ${file}`);
  }
  if (!stat.isFile()) throw new UserError(`${file} is not a regular file`);
  let snapshot: BetterSqlite3.Database;
  try {
    snapshot = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new UserError(`cannot open ${file}: ${(error as Error).message}`);
  }
  try {
    const applicationId = snapshot.pragma('application_id', { simple: true });
    if (applicationId !== APPLICATION_ID) throw new UserError(`${file} is not a usergen database`);
    const schemaVersion = snapshot.pragma('user_version', { simple: true }) as number;
    if (schemaVersion > SCHEMA_VERSION) {
      throw new UserError(`${file} was written by a newer usergen (schema version ${schemaVersion}, this one knows up to ${SCHEMA_VERSION})`);
    }
    const integrity = snapshot.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') throw new UserError(`${file} fails its integrity check: ${String(integrity)}`);
    const countOf = (table: string) => snapshot.prepare(`select count(*) from ${table}`).pluck().get() as number;
    return { sizeBytes: stat.size, users: countOf('users'), jobs: countOf('jobs') };
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`${file} is not a usable usergen database: ${(error as Error).message}`);
  } finally {
    snapshot.close();
  }
}

/**
 * Replaces the content of the live database `targetFile` with `backupFile` through SQLite's backup
 * API: one write transaction on the target, so other connections see the old content or the new,
 * never a mix, and the target's WAL stays consistent (a file rename would not be, under an open
 * WAL).
 */
export async function restoreSnapshot(backupFile: string, targetFile: string): Promise<void> {
  const backup = new BetterSqlite3(backupFile, { readonly: true, fileMustExist: true });
  try {
    // All pages in one step: the target is written in a single transaction.
    await backup.backup(targetFile, { progress: () => Number.MAX_SAFE_INTEGER });
  } finally {
    backup.close();
  }
}

/**
 * Copies the database `file` as it is on disk, and its WAL if that holds anything, to `target`
 * (and `target`-wal), created 0600 and never over an existing file, fsynced; returns the paths
 * written. For a damaged file, which SQLite cannot copy: the bytes are all there is.
 *
 * THE BYTES ARE READ BY A CHILD PROCESS, NEVER BY THIS ONE: this process may hold a connection to
 * `file`, and closing any other descriptor of it here would drop that connection's locks (see
 * checkDatabaseFile). A rare path (a restore over a damaged file): the child costs about 40 ms.
 */
export function copyDatabaseFiles(file: string, target: string): string[] {
  const copies: Array<[string, string]> = [[file, target]];
  const wal = `${file}-wal`;
  if (fs.existsSync(wal) && fs.statSync(wal).size > 0) copies.push([wal, `${target}-wal`]);
  const child = spawnSync(process.execPath, [fileURLToPath(new URL('./copy-files-process.js', import.meta.url)), ...copies.flat()], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (child.status !== 0) {
    const why = child.error?.message ?? (child.stderr.trim() || `the copying process ended with ${child.signal ?? child.status}`);
    throw new UserError(`cannot copy ${file} to ${target}: ${why}`);
  }
  fsyncPath(path.dirname(target));
  return copies.map(([, to]) => to);
}
