import { describe, expect, it } from 'vitest';
import { ENGINES } from '../engines.js';
import { startCli, stopCli, waitFor } from '../helpers.js';
import { inspect } from '../inspect.js';
import { BEHAVIOUR_TASKS } from './behaviour-helpers.js';
import { enqueueJobs } from './enqueue.js';

describe.each(ENGINES)('--concurrency on $name', (engine) => {
  it('4 never runs or claims a fifth job at once, with 10 ready', async () => {
    const file = await engine.database();
    // test_count_concurrent holds each job 300 ms and reports what ran alongside it.
    await enqueueJobs(
      file,
      Array.from({ length: 10 }, () => ({ task: 'test_count_concurrent', payload: { ms: 300 } })),
    );
    const db = await inspect(file);
    const worker = startCli(['worker', '--db', file, '--concurrency', '4', '--tasks', BEHAVIOUR_TASKS]);

    let mostRunning = 0;
    await waitFor(
      async () => {
        mostRunning = Math.max(mostRunning, await db.count("select count(*) from jobs where state = 'running'"));
        return (await db.count("select count(*) from jobs where state = 'succeeded'")) === 10;
      },
      'the ten jobs to succeed',
      20_000,
      5,
    );
    await stopCli(worker);

    const results = (await db.all<{ result: string }>('select result from jobs order by id')).map(
      ({ result }) => JSON.parse(result) as { atOnce: number; runningRows: number },
    );
    // Four ran together (the first claim took four), never five: in the process, nor in the table.
    expect(Math.max(...results.map((result) => result.atOnce))).toBe(4);
    expect(Math.max(...results.map((result) => result.runningRows))).toBeLessThanOrEqual(4);
    expect(mostRunning).toBeLessThanOrEqual(4);
  });
});
