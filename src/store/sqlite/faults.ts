import fs from 'node:fs';
import path from 'node:path';
import { damagedMessage, StorageError, type StorageFault } from '../store.js';

/**
 * The fault behind `error`, if it is a storage one: SQLite's codes (extended ones included), or a
 * system call's on the file named in the error. Which file it was about is `faultFile`'s question.
 */
export function storageFaultOf(error: unknown): StorageFault | undefined {
  if (error instanceof StorageError) return error.fault;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') return 'full';
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return 'damaged';
  if (code.startsWith('SQLITE_READONLY') || code === 'EROFS') return 'read-only';
  if (code.startsWith('SQLITE_IOERR') || code === 'EIO') return 'io';
  return undefined;
}

/**
 * Marks an error raised by a statement on the database `file` (see the driver): a task may open
 * SQLite files of its own, and their faults are the task's, not the queue's.
 */
export function tagDatabaseError(error: unknown, file: string): void {
  if (typeof error === 'object' && error !== null && !('databaseFile' in error)) {
    Object.defineProperty(error, 'databaseFile', { value: path.resolve(file), enumerable: false });
  }
}

/**
 * The file a storage error is about: the database its statement ran on (tagged by the driver),
 * the file a system call named, else undefined (an error SQLite raised at open, before any
 * statement, is about the file being opened).
 */
export function faultFile(error: unknown): string | undefined {
  const { databaseFile, path: syscallPath } = (error ?? {}) as { databaseFile?: unknown; path?: unknown };
  if (typeof databaseFile === 'string') return databaseFile;
  if (typeof syscallPath === 'string') return path.resolve(syscallPath.replace(/-(wal|shm|journal)$/, ''));
  return undefined;
}

/** Whether `error` is a storage fault of the database `file` itself. */
function isFaultOf(error: unknown, file: string): boolean {
  if (error instanceof StorageError) return true;
  if (storageFaultOf(error) === undefined) return false;
  const about = faultFile(error);
  return about === undefined ? !isSystemError(error) : about === path.resolve(file);
}

/**
 * Turns a storage error met on `file` into one line that names the file, the cause and what to
 * do; any other error, and a storage error about another file, is returned as it is.
 */
export function describeStorageError(error: unknown, file: string): Error {
  if (error instanceof StorageError) return error;
  if (!isFaultOf(error, file)) return error as Error;
  let fault = storageFaultOf(error)!;
  const message = (error as Error).message;
  // A full disk often surfaces as an I/O error: SQLite could not grow its shared-memory index
  // (SQLITE_IOERR_SHMSIZE) or write the journal before it knew why.
  if (fault === 'io' && freeBytes(file) === 0) fault = 'full';
  switch (fault) {
    case 'full':
      return new StorageError('full', `cannot write ${file}: database or disk is full (free some space, then run the command again)`);
    case 'damaged':
      return new StorageError('damaged', damagedMessage(file, message));
    case 'read-only':
      return new StorageError('read-only', `cannot write ${file}: ${whyReadOnly(file)}`);
    case 'io':
      return new StorageError('io', `cannot read or write ${file}: ${message} (${(error as { code: string }).code})`);
  }
}

/** A failed system call (ENOSPC, EIO, ...), as opposed to an error SQLite raised. */
function isSystemError(error: unknown): boolean {
  return typeof (error as { syscall?: unknown }).syscall === 'string';
}

/** Bytes an unprivileged writer may still use on the filesystem holding `file`; undefined if unknown. */
function freeBytes(file: string): number | undefined {
  try {
    const stats = fs.statfsSync(path.dirname(path.resolve(file)));
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}

/** SQLite says only "attempt to write a readonly database": find out why. */
export function whyReadOnly(file: string): string {
  const dir = path.dirname(path.resolve(file));
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EROFS') return `the filesystem holding ${dir} is mounted read-only`;
    return `its folder ${dir} is not writable, and SQLite must create its -wal and -shm files beside it`;
  }
  try {
    // root may write a file whatever its mode; a file nobody may write is read-only all the same.
    if ((fs.statSync(file).mode & 0o222) === 0) return 'the file is read-only (no write permission for anyone)';
    fs.accessSync(file, fs.constants.W_OK);
  } catch {
    return 'the file is read-only for this user';
  }
  return 'attempt to write a readonly database (is its -wal or -shm file read-only, or owned by another user?)';
}
