import type { TestProject } from 'vitest/node';
import { installProblem } from './system-package.js';

// vitest globalSetup: the other SQLite clients that tests run beside usergen's processes (the
// sqlite3 shell, as an operator watching the queue would), and strace, which shows what a process
// does to the database file. Installed once a run when missing; a problem is handed to the tests,
// which fail saying why (test/sqlite-clients.ts), never skip.

export const SQLITE_SHELL = '/usr/bin/sqlite3';
export const STRACE = '/usr/bin/strace';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Why the sqlite3 shell cannot be run (with the command that fixes it), or null. */
    sqliteShellProblem: string | null;
    /** Why strace cannot be run, or null. */
    straceProblem: string | null;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  project.provide('sqliteShellProblem', await installProblem(SQLITE_SHELL, 'sqlite3', 'tests beside other SQLite clients need the sqlite3 shell'));
  project.provide('straceProblem', await installProblem(STRACE, 'strace', 'the test of what touches the database file needs strace'));
}
