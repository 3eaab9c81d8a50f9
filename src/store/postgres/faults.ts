import { damagedMessage, StorageError, type StorageFault } from '../store.js';
import { printableLocation, withoutPassword } from './location.js';

// PostgreSQL's errors that are about the database rather than a statement, by SQLSTATE; and a
// server that cannot be reached, which a worker waits out like a locked file.

/** A server that went away or cannot be reached: socket errors, and shutdown or startup (57P01-57P03). */
const CONNECTION_CODES = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|ENOTFOUND|57P0[123])$/;

export function pgFaultOf(error: unknown): StorageFault | undefined {
  if (error instanceof StorageError) return error.fault;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return lostConnection(error) ? 'io' : undefined;
  if (code === '53100') return 'full';
  if (code === 'XX001' || code === 'XX002') return 'damaged';
  if (code === '25006') return 'read-only';
  if (code === '58030' || code.startsWith('08') || CONNECTION_CODES.test(code)) return 'io';
  return undefined;
}

/** node-postgres says so in words only when the server goes away mid-query. */
function lostConnection(error: unknown): boolean {
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|connection is closed|Client has encountered a connection error/i.test(message);
}

/** A storage fault as one line naming the database (never its password); any other error as it is, its password removed. */
export function describePgError(error: unknown, url: string, schema: string): Error {
  if (error instanceof StorageError) return error;
  const fault = pgFaultOf(error);
  const where = printableLocation(url);
  const message = withoutPassword(error instanceof Error ? error.message : String(error), url);
  switch (fault) {
    case undefined:
      if (error instanceof Error && error.message !== message) error.message = message;
      return error as Error;
    case 'full':
      return new StorageError('full', `cannot write ${where}: the server's disk is full (free some space, then run the command again)`);
    case 'damaged':
      return new StorageError('damaged', damagedMessage(`${where} (schema ${schema})`, message));
    case 'read-only':
      return new StorageError('read-only', `cannot write ${where}: the server accepts reads only (${message})`);
    case 'io':
      return new StorageError('io', `cannot reach ${where}: ${message}`);
  }
}
