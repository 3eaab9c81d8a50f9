import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { DURABILITIES, openDatabase } from '../db/open.js';
import type { Database } from '../db/schema.js';
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

export const DEFAULT_DATABASE_FILE = 'usergen.db';

export function databaseFile(command: Command): string {
  const { db } = command.optsWithGlobals<GlobalOptions>();
  return db ?? process.env.USERGEN_DB ?? DEFAULT_DATABASE_FILE;
}

/** Opens the database the global options name; call it only once every argument has been checked. */
export async function openCommandDatabase(command: Command): Promise<Kysely<Database>> {
  const { durability } = command.optsWithGlobals<GlobalOptions>();
  return openDatabase(databaseFile(command), {
    durability: durability === undefined ? undefined : parseChoice(durability, '--durability', DURABILITIES),
  });
}

/** Checks the global options without opening anything. */
export function checkGlobalOptions(command: Command): void {
  const { durability } = command.optsWithGlobals<GlobalOptions>();
  if (durability !== undefined) parseChoice(durability, '--durability', DURABILITIES);
}

/** Opens the database, runs `work` on it, and closes it whatever happens. */
export async function withCommandDatabase<T>(command: Command, work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  checkGlobalOptions(command);
  const db = await openCommandDatabase(command);
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}
