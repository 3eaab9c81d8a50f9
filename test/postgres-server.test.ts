import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { postgresUrl, tempPgDatabase } from './postgres.js';

// The throwaway server test/postgres-server.ts starts for a run, and the databases test/postgres.ts
// hands out on it.

async function withClient<T>(url: string | pg.ClientConfig, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(typeof url === 'string' ? { connectionString: url } : url);
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** The error connecting with `config` ends in, or null when it connects. */
async function connectError(config: pg.ClientConfig): Promise<(Error & { code?: string }) | null> {
  try {
    await withClient(config, async () => {});
    return null;
  } catch (error) {
    return error as Error & { code?: string };
  }
}

const databaseExists = (name: string) =>
  withClient(postgresUrl(), async (client) => (await client.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1);

describe('the test PostgreSQL server', () => {
  // Set by the first test, whose databases the second checks were dropped once it passed.
  let passedTestDatabases: string[] | undefined;

  it('gives each tempPgDatabase() call a fresh database of its own, where tables can be created', async () => {
    const [first, second] = [await tempPgDatabase(), await tempPgDatabase()];
    const names = [new URL(first).pathname.slice(1), new URL(second).pathname.slice(1)];
    expect(names[0]).toMatch(/^usergen_test_[0-9a-f]+$/);
    expect(names[1]).not.toBe(names[0]);
    await withClient(first, async (client) => {
      expect((await client.query('select current_database() as name')).rows[0].name).toBe(names[0]);
      await client.query('create table jobs (id bigint primary key)');
      await client.query('insert into jobs values (1), (2)');
      expect((await client.query('select count(*)::int as n from jobs')).rows[0].n).toBe(2);
    });
    await withClient(second, async (client) => {
      expect((await client.query('select current_database() as name')).rows[0].name).toBe(names[1]);
      expect((await client.query("select to_regclass('jobs') as found")).rows[0].found).toBeNull();
    });
    passedTestDatabases = names;
  });

  it('drops the databases of a test that passed', async () => {
    expect(passedTestDatabases, 'the test before this one passed').toBeDefined();
    for (const name of passedTestDatabases!) expect(await databaseExists(name), name).toBe(false);
  });

  it('refuses a connection without the password: scram-sha-256 on TCP', async () => {
    const { hostname, port, username } = new URL(postgresUrl());
    const server = { host: hostname, port: Number(port), user: username, database: 'postgres' };
    // The server asks for SCRAM, which node-postgres cannot answer without a password.
    expect((await connectError(server))?.message).toMatch(/SCRAM/);
    expect((await connectError({ ...server, password: 'not-the-password' }))?.code).toBe('28P01'); // invalid_password
    const rules = await withClient(postgresUrl(), async (client) =>
      (await client.query("select distinct auth_method from pg_hba_file_rules where type = 'host'")).rows.map((row) => row.auth_method),
    );
    expect(rules).toEqual(['scram-sha-256']);
  });

  it('listens on 127.0.0.1 only', async () => {
    const listen = await withClient(postgresUrl(), async (client) => (await client.query('show listen_addresses')).rows[0].listen_addresses);
    expect(listen).toBe('127.0.0.1');
    expect(new URL(postgresUrl()).hostname).toBe('127.0.0.1');
  });
});
