import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { Logger } from '../queue/worker.js';

export const LOG_LEVELS = ['debug', 'info', 'warning', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Celery-style lines (`[2026-11-24 13:02:01,123: INFO] Task generate_users[42] received`) on
 * stderr or appended to a file. Writes are synchronous: nothing is lost when the process exits.
 */
export function createLogger(level: LogLevel, file?: string): Logger & { close(): void } {
  const opened = file === undefined ? 2 : openLogFile(file);
  let fd = opened;
  const threshold = LOG_LEVELS.indexOf(level);
  // A log line that cannot be written (the log's disk is full) must not fail the job or the
  // worker that logs it: the log goes on on stderr, saying so once.
  const write = (at: LogLevel, message: string) => {
    if (LOG_LEVELS.indexOf(at) < threshold) return;
    const stamp = new Date().toISOString().replace('T', ' ').replace('.', ',').slice(0, -1);
    const line = `[${stamp}: ${at.toUpperCase()}] ${message}\n`;
    try {
      fs.writeSync(fd, line);
    } catch (error) {
      if (fd === 2) return;
      fd = 2;
      write('error', `cannot write to the log file ${file}: ${(error as Error).message}; logging to stderr from now on`);
      write(at, message);
    }
  };
  return {
    debug: (message) => write('debug', message),
    info: (message) => write('info', message),
    warn: (message) => write('warning', message),
    error: (message) => write('error', message),
    infoEnabled: threshold <= LOG_LEVELS.indexOf('info'),
    close: () => {
      if (opened !== 2) fs.closeSync(opened);
    },
  };
}

/**
 * Refuses, before anything is created, a log file that cannot be opened for appending: a folder
 * that does not exist or may not be written, or a folder in its place.
 */
export function checkLogFile(file: string): void {
  try {
    if (fs.existsSync(file)) {
      if (fs.statSync(file).isDirectory()) throw Object.assign(new Error('a folder'), { code: 'EISDIR' });
      fs.accessSync(file, fs.constants.W_OK);
    } else {
      fs.accessSync(path.dirname(path.resolve(file)), fs.constants.W_OK);
    }
  } catch (error) {
    throw logFileError(file, error);
  }
}

function openLogFile(file: string): number {
  try {
    return fs.openSync(file, 'a', 0o600);
  } catch (error) {
    throw logFileError(file, error);
  }
}

function logFileError(file: string, error: unknown): UsageError {
  const { code } = error as NodeJS.ErrnoException;
  const why =
    code === 'ENOENT'
      ? `folder ${path.dirname(path.resolve(file))} does not exist`
      : code === 'EISDIR'
        ? 'it is a folder'
        : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
          ? 'not allowed to write there'
          : (error as Error).message;
  return new UsageError(`--logfile ${file}: cannot open it for writing: ${why}`);
}
