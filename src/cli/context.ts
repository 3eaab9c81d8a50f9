import type { Command } from 'commander';
import { openStore } from '../store/open.js';
import { DURABILITIES, type JobStore } from '../store/store.js';
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

/** Opens the database the global options name; call it only once every argument has been checked. */
export async function openCommandDatabase(command: Command, options: CommandDatabaseOptions = {}): Promise<JobStore> {
  const { durability } = command.optsWithGlobals<GlobalOptions>();
  return openStore(databaseFile(command), {
    durability: durability === undefined ? undefined : parseChoice(durability, '--durability', DURABILITIES),
    create: options.create ?? false,
  });
}

/** Checks the global options without opening anything. */
export function checkGlobalOptions(command: Command): void {
  const { durability } = command.optsWithGlobals<GlobalOptions>();
  if (durability !== undefined) parseChoice(durability, '--durability', DURABILITIES);
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
  checkGlobalOptions(command);
  const store = await openCommandDatabase(command, options);
  let failed = false;
  try {
    return await work(store);
  } catch (error) {
    failed = true;
    throw store.describeError(error);
  } finally {
    // Closing checkpoints the WAL, which fails too on a full disk: the first error is the one to tell.
    await store.close().catch((error: unknown) => {
      if (!failed) throw store.describeError(error);
    });
  }
}
