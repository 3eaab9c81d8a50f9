import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimJobs } from '../../src/queue/claim.js';
import type { Dedupe } from '../../src/store/dedupe.js';
import { openStore } from '../../src/store/open.js';
import type { JobStore } from '../../src/store/store.js';
import { ENGINES } from '../engines.js';

// A job deduplicated while 'queued' that goes back to the queue (given back unstarted, retried
// after a failed attempt, put back when its lease ran out or its worker died) is still the job a
// later enqueue of its key finds; when another job took the key meanwhile, it waits without its
// key, and no statement fails for it.

const KEY: Dedupe = { key: 'k', while: 'queued', replace: false };
const LEASE_ERROR = { name: 'LeaseExpired', message: 'lease of {worker} ran out' };

type Return = (store: JobStore, jobIds: number[]) => Promise<unknown>;

const RETURNS: Array<[string, Return]> = [
  ['given back unstarted (a release)', (store, ids) => Promise.all(ids.map((jobId) => store.release({ jobId, workerId: 'w', attempt: 1 })))],
  [
    'retried after a failed attempt',
    (store, ids) => Promise.all(ids.map((jobId) => store.failAttempt({ jobId, workerId: 'w', attempt: 1 }, '"no"', Date.now()))),
  ],
  [
    'put back when its lease ran out',
    async (store) => {
      await store.db.updateTable('jobs').set({ locked_until: 0 }).execute();
      await store.recoverExpired(Date.now(), LEASE_ERROR);
    },
  ],
  ['put back when its worker died', (store) => store.recoverWorkers(['w'], Date.now(), LEASE_ERROR)],
];

describe.each(ENGINES)("a 'queued' dedupe key on the way back to the queue, on $name", (engine) => {
  let store: JobStore;
  beforeEach(async () => {
    store = await openStore(await engine.database());
  });
  afterEach(async () => {
    await store.close();
  });

  const enqueue = async () => (await store.enqueueDeduped({ task: 'noop', payload: {}, maxAttempts: 3, dedupe: KEY })).id;
  const claim = async () => (await claimJobs(store, 'w', 10, 30_000, { tasks: ['noop'] })).map((job) => job.id);
  const queued = async () =>
    (await store.db.selectFrom('jobs').select(['id', 'dedupe_queued']).where('state', '=', 'queued').orderBy('id').execute()).map((row) => ({
      id: Number(row.id),
      keyed: row.dedupe_queued !== null,
    }));

  for (const [how, putBack] of RETURNS) {
    it(`${how}: keeps its key when no other job holds it`, async () => {
      const first = await enqueue();
      expect(await claim()).toEqual([first]);
      await putBack(store, [first]);
      expect(await queued()).toEqual([{ id: first, keyed: true }]);
      expect(await enqueue()).toBe(first);
    });

    it(`${how}: waits without its key beside the job enqueued under it meanwhile`, async () => {
      const first = await enqueue();
      await claim();
      const second = await enqueue();
      expect(second).not.toBe(first);
      await putBack(store, [first]);
      expect(await queued()).toEqual([
        { id: first, keyed: false },
        { id: second, keyed: true },
      ]);
      expect(await enqueue()).toBe(second);
    });
  }

  for (const [how, putBack] of RETURNS.slice(2)) {
    it(`${how}, two running jobs of one key at once: one statement puts both back, the older keeps the key`, async () => {
      const first = await enqueue();
      await claim();
      const second = await enqueue();
      expect(await claim()).toEqual([second]);
      await putBack(store, [first, second]);
      expect(await queued()).toEqual([
        { id: first, keyed: true },
        { id: second, keyed: false },
      ]);
      expect(await enqueue()).toBe(first);
    });
  }
});
