import type { Command } from 'commander';
import { withStore } from '../operations/with-store.js';
import { openStore } from '../store/open.js';
import { DURABILITIES, type Durability, type JobStore } from '../store/store.js';
import { parseChoice } from './parse.js';

/** What every command gets from the program around it. */
export interface CliContext {
  /** Aborted by the first SIGINT/SIGTERM (the second one exits at once). */
  shutdownSignal(): AbortSignal;
}

interface GlobalOptions {
  db?: string;
  durability?: string;
}

export interface CommandDatabaseOptions {
  /** Create the database if the file is missing (`generate`, `worker`); others refuse a missing file. */
  create?: boolean;
}

export const DEFAULT_DATABASE_FILE = 'usergen.db';

export function databaseFile(command: Command): string {
  const { db } = command.optsWithGlobals<GlobalOptions>();
  return db ?? process.env.USERGEN_DB ?? DEFAULT_DATABASE_FILE;
}

/** `--durability`, checked; undefined leaves the store's default. */
export function durabilityOption(command: Command): Durability | undefined {
  const { durability } = command.optsWithGlobals<GlobalOptions>();
  return durability === undefined ? undefined : parseChoice(durability, '--durability', DURABILITIES);
}

/** Opens the database the global options name; call it only once every argument has been checked. */
export async function openCommandDatabase(command: Command, options: CommandDatabaseOptions = {}): Promise<JobStore> {
  return openStore(databaseFile(command), { durability: durabilityOption(command), create: options.create ?? false });
}

/** Checks the global options without opening anything. */
export function checkGlobalOptions(command: Command): void {
  durabilityOption(command);
}

/**
 * Opens the database, runs `work` on it, and closes it whatever happens. A storage fault met on
 * the way (disk full, damaged file) is reported as one line naming the file.
 */
export async function withCommandDatabase<T>(
  command: Command,
  work: (store: JobStore) => Promise<T>,
  options: CommandDatabaseOptions = {},
): Promise<T> {
  return withStore(databaseFile(command), { durability: durabilityOption(command), create: options.create ?? false }, work);
}
