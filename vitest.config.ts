import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    // Once a run, before any file: installs chromium for the browser tests, and the sqlite3 shell and
    // strace for the tests beside other SQLite clients, when they are missing, and
    // starts a throwaway PostgreSQL server for the PostgreSQL tests (installing it when missing).
    globalSetup: ['test/install-chromium.ts', 'test/install-sqlite-tools.ts', 'test/postgres-server.ts'],
    pool: 'forks',
    // Tests start real worker processes that hash on every core: two files at a time is the machine.
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 30_000,
  },
});
