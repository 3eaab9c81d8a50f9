import { describe, expect, it } from 'vitest';
import { count, inspectDb, jobs, ROOT, startCli, stopCli, succeeded, tempDb, waitFor } from '../helpers.js';
import { watchWithShell } from '../sqlite-clients.js';

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

describe('several processes on one file', () => {
  it('three workers and an enqueuer started together on a new file: every job succeeds exactly once', async () => {
    const { db: file } = tempDb();
    // An operator watching the file with the sqlite3 shell the whole time.
    const watcher = watchWithShell(file);
    const workers = [1, 2, 3].map(() => startCli(['worker', '--db', file, '--concurrency', '2', '--poll', '5ms']));
    const enqueuer = startCli([file], { command: [process.execPath, '--input-type=module', '-e', ENQUEUER] });
    const enqueued = await enqueuer.exited;
    expect(enqueued.code, enqueued.stderr).toBe(0);

    const db = inspectDb(file);
    await waitFor(() => succeeded(db) === JOBS, 'every job to succeed', 60_000);
    // stopCli fails unless each worker exits 0.
    const exits = await Promise.all(workers.map(stopCli));
    await watcher.stop();

    const output = [enqueued, ...exits].map((run) => run.stdout + run.stderr).join('\n');
    expect(output).not.toMatch(/SQLITE_BUSY|database is locked/i);
    const rows = jobs(db);
    expect(rows).toHaveLength(JOBS);
    for (const job of rows) {
      expect(job).toMatchObject({ state: 'succeeded', attempts: 1 });
      expect(output.split(`Task generate_users[${job.id}] succeeded`)).toHaveLength(2);
      const { total } = JSON.parse(job.payload) as { total: number };
      expect(count(db, 'select count(*) from users where job_id = ?', job.id)).toBe(total);
    }
    // The work was shared, not done by one process while the others starved.
    expect(exits.filter((exit) => exit.stderr.includes('succeeded in')).length).toBeGreaterThan(1);
  });
});
