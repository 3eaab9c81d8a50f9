import { describe, expect, it } from 'vitest';
import { ENGINES } from '../engines.js';
import { jobs, ROOT, startCli, stopCli, succeeded, waitFor } from '../helpers.js';
import { inspect } from '../inspect.js';
import { watchedByOperator } from './behaviour-helpers.js';

const JOBS = 50;

// A separate process enqueuing through the built library, one commit per job.
const ENQUEUER = `
  const { openQueue } = await import(${JSON.stringify(`${ROOT}/dist/index.js`)});
  const { generateUsers } = await import(${JSON.stringify(`${ROOT}/dist/tasks/generate-users.js`)});
  const queue = await openQueue({ db: process.argv[1] });
  for (let i = 0; i < ${JOBS}; i++) {
    await queue.enqueue(generateUsers, { total: 50 + (i % 3), iterations: 1000 });
  }
  await queue.close();
`;

describe.each(ENGINES)('several processes on one database on $name', (engine) => {
  it('three workers and an enqueuer started together on a new database: every job succeeds exactly once', async () => {
    const file = await engine.database();
    const watcher = watchedByOperator(engine, file);
    const workers = [1, 2, 3].map(() => startCli(['worker', '--db', file, '--concurrency', '2', '--poll', '5ms']));
    const enqueuer = startCli([file], { command: [process.execPath, '--input-type=module', '-e', ENQUEUER] });
    const enqueued = await enqueuer.exited;
    expect(enqueued.code, enqueued.stderr).toBe(0);

    const db = await inspect(file);
    await waitFor(async () => (await succeeded(db)) === JOBS, 'every job to succeed', 60_000);
    // stopCli fails unless each worker exits 0.
    const exits = await Promise.all(workers.map(stopCli));
    await watcher?.stop();

    const output = [enqueued, ...exits].map((run) => run.stdout + run.stderr).join('\n');
    expect(output).not.toMatch(/SQLITE_BUSY|database is locked/i);
    const rows = await jobs(db);
    expect(rows).toHaveLength(JOBS);
    for (const job of rows) {
      expect(job).toMatchObject({ state: 'succeeded', attempts: 1 });
      expect(output.split(`Task generate_users[${job.id}] succeeded`)).toHaveLength(2);
      const { total } = JSON.parse(job.payload) as { total: number };
      expect(await db.count('select count(*) from users where job_id = ?', job.id)).toBe(total);
    }
    // The work was shared, not done by one process while the others starved.
    expect(exits.filter((exit) => exit.stderr.includes('succeeded in')).length).toBeGreaterThan(1);
  });
});
