import type { TestProject } from 'vitest/node';
import { installProblem } from './system-package.js';

// vitest globalSetup: runs once per `vitest run`, in the main process, before any test file. The
// browser tests drive Debian's chromium (Playwright's own browser download cannot work here), so a
// fresh machine gets it here, once a run, rather than once per test file.
//
// A problem is handed to the tests (test/browser.ts throws it in every browser test) rather than
// thrown here: a throw would stop the whole run, and a user without root could not run the tests
// that need no browser. A browser test is never skipped: it fails, saying why.

export const CHROMIUM = '/usr/bin/chromium';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Why the browser tests cannot run (with the command that fixes it), or null. */
    chromiumProblem: string | null;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  project.provide('chromiumProblem', await installProblem(CHROMIUM, 'chromium', 'the browser tests need chromium'));
}
