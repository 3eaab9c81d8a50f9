import { afterEach, beforeEach } from 'vitest';
import { openQueue, type Queue } from '../src/index.js';
import type { Engine } from './engines.js';
import { inspect, type Probe } from './inspect.js';

/** What each test of a describe block gets: a queue open on a fresh database, and another client's view of it. */
export interface EngineQueue {
  queue: Queue;
  db: Probe;
  location: string;
}

/** Opens a queue on a fresh database of `engine` before each test of the block, and closes it after. */
export function queueOnEachTest(engine: Engine): EngineQueue {
  const current = {} as EngineQueue;
  beforeEach(async () => {
    current.location = await engine.database();
    current.queue = await openQueue({ db: current.location });
    current.db = await inspect(current.location);
  });
  afterEach(async () => {
    await current.queue.close();
  });
  return current;
}
