import type { Command } from 'commander';
import { withStore } from '../operations/with-store.js';
import { checkSchemaName, openStore, type OpenStoreOptions } from '../store/open.js';
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
  pgSchema?: string;
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
  return openStore(databaseFile(command), storeOptions(command, options.create ?? false));
}

/** `--pg-schema` (or $USERGEN_PG_SCHEMA), checked; undefined leaves the default. */
export function pgSchemaOption(command: Command): string | undefined {
  const schema = command.optsWithGlobals<GlobalOptions>().pgSchema ?? process.env.USERGEN_PG_SCHEMA;
  return schema === undefined ? undefined : checkSchemaName(schema);
}

/** How the global options say to open the database. */
export function storeOptions(command: Command, create: boolean): OpenStoreOptions {
  return { durability: durabilityOption(command), pgSchema: pgSchemaOption(command), create };
}

/** Checks the global options without opening anything. */
export function checkGlobalOptions(command: Command): void {
  durabilityOption(command);
  pgSchemaOption(command);
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
  return withStore(databaseFile(command), storeOptions(command, options.create ?? false), work);
}
