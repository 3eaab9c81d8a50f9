import crypto from 'node:crypto';
import pg from 'pg';
import { inject, onTestFinished } from 'vitest';

// PostgreSQL for the tests: test/postgres-server.ts (the global setup) starts one throwaway server
// a run; each test takes a database of its own on it, as it takes a folder of its own for SQLite.

/** The throwaway server's superuser URL; throws why there is none (with the command that fixes it). */
export function postgresUrl(): string {
  const url = inject('postgresUrl');
  if (url) return url;
  throw new Error(inject('postgresProblem') ?? 'no PostgreSQL server: vitest.config.ts must list test/postgres-server.ts in globalSetup');
}

async function asAdmin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl() });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * A fresh database on the test server, as a URL with the server's user and password; dropped when
 * the test passes, kept (its name printed) when it fails, until the run ends and the server goes.
 */
export async function tempPgDatabase(): Promise<string> {
  const name = `usergen_test_${crypto.randomBytes(8).toString('hex')}`;
  const url = new URL(postgresUrl());
  url.pathname = `/${name}`;
  onTestFinished(async ({ task }) => {
    if (task.result?.state === 'fail') console.error(`test database kept: ${name} on ${url.host} (until the test run ends)`);
    // with (force): a connection the test left open would otherwise make the drop fail.
    else await asAdmin(`drop database if exists ${name} with (force)`);
  });
  await asAdmin(`create database ${name}`);
  return url.href;
}
