import { describe, expect, it } from 'vitest';
import { defineTask } from '../../src/index.js';
import { Worker } from '../../src/queue/worker.js';
import { openStore } from '../../src/store/open.js';
import { ENGINES } from '../engines.js';
import { inspect } from '../inspect.js';

// A completion whose write takes longer than the worker's heartbeat holds the database's one
// connection (and SQLite's one write lock) all that time: no heartbeat can run there. On either
// engine, the leases of the worker's other jobs must not have lapsed when it commits, or any other
// worker could take them.

const LEASE_MS = 600;
let releaseWaiting: () => void = () => {};

const slowWrite = defineTask({
  name: 'test_slow_write',
  maxAttempts: 1,
  validate: (payload) => payload,
  async handler(_payload, context) {
    return context.complete(async () => {
      await new Promise((resolve) => setTimeout(resolve, LEASE_MS * 3));
      return 'written';
    });
  },
});

const waiting = defineTask({
  name: 'test_waiting',
  maxAttempts: 1,
  validate: (payload) => payload,
  async handler() {
    await new Promise<void>((resolve) => (releaseWaiting = resolve));
    return 'released';
  },
});

describe.each(ENGINES)('a completion slower than the heartbeat, on $name', (engine) => {
  it("leaves the worker's other jobs and its own row alive when it commits", async () => {
    const file = await engine.database();
    const store = await openStore(file);
    const reader = await inspect(file);
    try {
      const other = await store.enqueue({ task: waiting.name, payload: {}, maxAttempts: 1, priority: 1 });
      const slow = await store.enqueue({ task: slowWrite.name, payload: {}, maxAttempts: 1 });
      const worker = new Worker(store, { tasks: [slowWrite, waiting], concurrency: 2, drain: true, leaseMs: LEASE_MS });
      const seen: Array<Promise<{ otherLeaseLeftMs: number; workerAliveLeftMs: number }>> = [];
      worker.on('succeeded', ({ id }) => {
        if (id !== slow.id) return;
        // What any other process sees the moment the slow completion is committed.
        const now = Date.now();
        const read = Promise.all([
          reader.count('select locked_until from jobs where id = ?', other.id),
          reader.count('select alive_until from workers'),
        ]);
        seen.push(read.then(([otherLease, alive]) => ({ otherLeaseLeftMs: otherLease - now, workerAliveLeftMs: alive - now })));
        // Only once read: the other job's end would clear its lease.
        void read.then(releaseWaiting, releaseWaiting);
      });
      await worker.run();

      expect(seen).toHaveLength(1);
      const [after] = await Promise.all(seen);
      expect(after!.otherLeaseLeftMs).toBeGreaterThan(0);
      expect(after!.workerAliveLeftMs).toBeGreaterThan(0);
      expect(await store.getJob(other.id)).toMatchObject({ state: 'succeeded', attempts: 1 });
    } finally {
      await reader.close();
      await store.close();
    }
  });
});
