import pg from 'pg';
import { expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import { waitFor } from '../helpers.js';
import { postgresUrl, tempPgDatabase } from '../postgres.js';

// Closing a PostgreSQL store ends every connection of its pool, whatever it ran: a process that
// enqueues and exits must not stay alive for the pool's idle timeout (10 s).

async function usergenSessions(database: string): Promise<number> {
  const client = new pg.Client({ connectionString: postgresUrl() });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      "select count(*) as n from pg_stat_activity where datname = $1 and application_name = 'usergen'",
      [database],
    );
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}

it('close() ends the connections of a store that only enqueued, at once rather than after the idle timeout', async () => {
  const url = await tempPgDatabase();
  const database = new URL(url).pathname.slice(1);
  const store = await openStore(url);
  await store.enqueue({ task: 'noop', payload: {}, maxAttempts: 1 });
  expect(await usergenSessions(database)).toBeGreaterThan(0);
  await store.close();
  // The server takes a moment to end a session whose client said goodbye; the pool's idle timeout is 10 s.
  await waitFor(async () => (await usergenSessions(database)) === 0, 'the sessions to end', 5_000);
});
