import pg from 'pg';
import { expect } from 'vitest';
import { isPostgresUrl } from '../../src/store/postgres/location.js';
import { runCli, startCli, type CliOptions, type CliProcess, type CliResult } from '../helpers.js';

// The built CLI on one database of either engine, for tests that run the same flows on both. On
// PostgreSQL the URL carries the server's password: every run made through here fails its test if
// the password shows up anywhere in what the command printed, on stdout or stderr.

/** Every form a URL's password could be printed in: as written in the URL, and decoded. */
export function passwordForms(url: string): string[] {
  if (!isPostgresUrl(url)) return [];
  const { password } = new URL(url);
  return password === '' ? [] : [...new Set([password, decodeURIComponent(password)])];
}

/** Fails if `output` holds any of `secrets`; names the command that printed one (without it). */
export function expectNoSecret(output: CliResult, secrets: readonly string[], args: readonly string[]): void {
  const command = secrets.reduce((text, secret) => text.split(secret).join('***'), `usergen ${args.join(' ')}`);
  for (const secret of secrets) {
    for (const stream of ['stdout', 'stderr'] as const) {
      expect(output[stream].includes(secret), `${command} printed the database password on ${stream}`).toBe(false);
    }
  }
}

export interface EngineCli {
  /** The database, as `--db` takes it. */
  db: string;
  /** Runs `usergen <args> --db <db>` to its end. */
  run(args: string[], options?: CliOptions): Promise<CliResult>;
  /** Starts `usergen <args> --db <db>`; its `exited` checks the output once it ends. */
  start(args: string[], options?: CliOptions): CliProcess;
  /** Runs `usergen <args> --json --db <db>`, which must exit 0, and parses its stdout. */
  json<T>(args: string[]): Promise<T>;
}

/**
 * The CLI on `db`. `secrets` are strings no output may hold: `db`'s password, and any other a test
 * passes (a wrong password it tried).
 */
export function engineCli(db: string, secrets: readonly string[] = []): EngineCli {
  const forbidden = [...passwordForms(db), ...secrets];
  const start = (args: string[], options?: CliOptions): CliProcess => {
    const all = [...args, '--db', db];
    const handle = startCli(all, options);
    return {
      ...handle,
      exited: handle.exited.then((result) => {
        expectNoSecret(result, forbidden, all);
        return result;
      }),
    };
  };
  const run = (args: string[], options?: CliOptions) => start(args, options).exited;
  return {
    db,
    run,
    start,
    async json<T>(args: string[]): Promise<T> {
      const result = await run([...args, '--json']);
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as T;
    },
  };
}

/** `runCli` with the same check, for a run on a URL other than a test's own database. */
export async function runWithoutSecrets(args: string[], secrets: readonly string[]): Promise<CliResult> {
  const result = await runCli(args);
  expectNoSecret(result, secrets, args);
  return result;
}

/** The schemas (other than PostgreSQL's own) and tables in the database at `url`, by name. */
export async function schemaObjects(url: string): Promise<{ schemas: string[]; tables: string[] }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const own = "not in ('pg_catalog', 'information_schema', 'pg_toast')";
    const schemas = await client.query<{ name: string }>(
      `select nspname as name from pg_namespace where nspname ${own} and nspname not like 'pg_temp_%' and nspname not like 'pg_toast_temp_%' order by 1`,
    );
    const tables = await client.query<{ name: string }>(
      `select schemaname || '.' || tablename as name from pg_tables where schemaname ${own} order by 1`,
    );
    return { schemas: schemas.rows.map((row) => row.name), tables: tables.rows.map((row) => row.name) };
  } finally {
    await client.end();
  }
}
