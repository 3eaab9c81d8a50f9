import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimJobs } from '../../src/queue/claim.js';
import { sql } from '../../src/store/kysely.js';
import { openStore } from '../../src/store/open.js';
import type { JobStore } from '../../src/store/store.js';
import { ENGINES } from '../engines.js';

// Every way a job ends (completed alone or in a batch, failed for good, put back with no attempts
// left after its lease ran out or its worker died, cancelled queued or running) is one UPDATE of
// its row to a final state, in the transaction that ends it. That is the one place where a rule
// about what ending a job does beyond its own row (job dependencies settling their dependents)
// hooks in: a row trigger per engine, which no ending path, present or added later, can bypass.
// Here a trigger records each ending, as such a rule would see it.

const FINAL = "('succeeded', 'failed', 'cancelled')";

const RECORD_ENDINGS = {
  sqlite: [
    'create table ended (id integer, old_state text, new_state text)',
    `create trigger record_ended after update of state on jobs
      when new.state in ${FINAL} and old.state not in ${FINAL}
      begin insert into ended values (new.id, old.state, new.state); end`,
  ],
  postgres: [
    'create table ended (id bigint, old_state text, new_state text)',
    `create function record_ended() returns trigger language plpgsql as $$
      begin insert into ended values (new.id, old.state, new.state); return null; end $$`,
    `create trigger record_ended after update of state on jobs for each row
      when (new.state in ${FINAL} and old.state not in ${FINAL}) execute function record_ended()`,
  ],
};

describe.each(ENGINES)('how a job ends, on $name', (engine) => {
  let store: JobStore;

  beforeEach(async () => {
    store = await openStore(await engine.database());
    for (const statement of RECORD_ENDINGS[engine.name]) await sql.raw(statement).execute(store.db);
  });

  afterEach(async () => {
    await store.close();
  });

  async function claimed(workerId: string, count: number, maxAttempts = 1): Promise<number[]> {
    await store.enqueueMany(Array.from({ length: count }, (_, i) => ({ task: 'noop', payload: { i }, maxAttempts })));
    return (await claimJobs(store, workerId, count, 30_000, { tasks: ['noop'] })).map((job) => job.id).sort((a, b) => a - b);
  }

  async function endings(): Promise<Array<[number, string, string]>> {
    const { rows } = await sql<{ id: number; old_state: string; new_state: string }>`select * from ended order by id`.execute(store.db);
    return rows.map((row) => [Number(row.id), row.old_state, row.new_state]);
  }

  it('each ending path is seen once, as the state it ends in, and nothing else is', async () => {
    const [single, batchA, batchB, failed, retried] = await claimed('w', 5, 1);
    await store.transaction((tx) => tx.complete({ jobId: single!, workerId: 'w', attempt: 1, result: '1' }));
    await Promise.all(
      [batchA!, batchB!].map((jobId) => store.complete({ jobId, workerId: 'w', attempt: 1, result: '2', abortedReason: () => undefined })),
    );
    await store.failAttempt({ jobId: failed!, workerId: 'w', attempt: 1 }, '"no"', null);
    await store.failAttempt({ jobId: retried!, workerId: 'w', attempt: 1 }, '"again"', Date.now() + 60_000);

    const [expired] = await claimed('x', 1);
    await store.db.updateTable('jobs').set({ locked_until: 0 }).where('id', '=', expired!).execute();
    await store.recoverExpired(Date.now(), { name: 'LeaseExpired', message: 'lease of {worker} ran out' });

    const [dead] = await claimed('dead', 1);
    await store.recoverWorkers(['dead'], Date.now(), { name: 'WorkerDied', message: '{worker} died' });

    const [running, queued] = await claimed('y', 2);
    await store.cancelJob(running!);
    await store.db.updateTable('jobs').set({ state: 'queued', locked_by: null, locked_until: null }).where('id', '=', queued!).execute();
    await store.cancelJob(queued!);

    expect(await endings()).toEqual([
      [single, 'running', 'succeeded'],
      [batchA, 'running', 'succeeded'],
      [batchB, 'running', 'succeeded'],
      [failed, 'running', 'failed'],
      [expired, 'running', 'failed'],
      [dead, 'running', 'failed'],
      [running, 'running', 'cancelled'],
      [queued, 'queued', 'cancelled'],
    ]);
  });

  it('a job put back with attempts left, released, or retried by hand does not end', async () => {
    const [expired, dead, released, retried] = await claimed('w', 4, 3);
    await store.db.updateTable('jobs').set({ locked_until: 0 }).where('id', '=', expired!).execute();
    await store.recoverExpired(Date.now(), { name: 'LeaseExpired', message: 'ran out' });
    await store.db.updateTable('jobs').set({ locked_by: 'dead' }).where('id', '=', dead!).execute();
    await store.recoverWorkers(['dead'], Date.now(), { name: 'WorkerDied', message: 'died' });
    await store.release({ jobId: released!, workerId: 'w', attempt: 1 });
    await store.failAttempt({ jobId: retried!, workerId: 'w', attempt: 1 }, '"no"', Date.now());
    expect(await endings()).toEqual([]);

    await store.cancelJob(retried!);
    await store.retryJob(retried!);
    expect(await endings()).toEqual([[retried, 'queued', 'cancelled']]);
  });
});
