import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { defineTask } from '../../src/queue/task.js';
import { Worker } from '../../src/queue/worker.js';
import { tempDb } from '../helpers.js';

// A completion whose write takes longer than the worker's heartbeat holds the database's one
// connection (and SQLite's one write lock) all that time: no heartbeat can run. The leases of the
// worker's other jobs must not have lapsed when it commits, or any other worker could take them.

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

describe('a completion slower than the heartbeat', () => {
  it("leaves the worker's other jobs and its own row alive when it commits", async () => {
    const { db: file } = tempDb();
    const store = await openSqliteStore(file);
    const reader = new BetterSqlite3(file, { readonly: true });
    try {
      const other = await store.enqueue({ task: waiting.name, payload: {}, maxAttempts: 1, priority: 1 });
      const slow = await store.enqueue({ task: slowWrite.name, payload: {}, maxAttempts: 1 });
      const worker = new Worker(store, { tasks: [slowWrite, waiting], concurrency: 2, drain: true, leaseMs: LEASE_MS });
      const seen: Array<{ otherLeaseLeftMs: number; workerAliveLeftMs: number }> = [];
      worker.on('succeeded', ({ id }) => {
        if (id !== slow.id) return;
        // What any other process sees the moment the slow completion is committed.
        const now = Date.now();
        const otherLease = reader.prepare('select locked_until from jobs where id = ?').pluck().get(other.id) as number;
        const alive = reader.prepare('select alive_until from workers').pluck().get() as number;
        seen.push({ otherLeaseLeftMs: otherLease - now, workerAliveLeftMs: alive - now });
        releaseWaiting();
      });
      await worker.run();

      expect(seen).toHaveLength(1);
      expect(seen[0]!.otherLeaseLeftMs).toBeGreaterThan(0);
      expect(seen[0]!.workerAliveLeftMs).toBeGreaterThan(0);
      expect(await store.getJob(other.id)).toMatchObject({ state: 'succeeded', attempts: 1 });
    } finally {
      reader.close();
      await store.close();
    }
  });
});
