import { expect, it } from 'vitest';
import { Worker } from '../src/queue/worker.js';
import { openStore } from '../src/store/open.js';
import { tempDb } from './helpers.js';

// What test/setup.ts's leak check reads of the test's own process: a worker counts from the start
// of its run until the run has settled, so one left running fails the test that started it.

it('counts a worker of this process while its run is under way, and not once it has stopped', async () => {
  const store = await openStore(tempDb().db);
  try {
    const worker = new Worker(store, { tasks: [], concurrency: 1, register: false, pollMs: 10 });
    expect(Worker.running).toBe(0);
    const run = worker.run();
    expect(Worker.running).toBe(1);
    worker.stop();
    await run;
    expect(Worker.running).toBe(0);
  } finally {
    await store.close();
  }
});
