import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { wakeFileOf } from '../../src/store/sqlite/wake.js';
import { runCli, startWorker, stopCli, tempDb, waitFor } from '../helpers.js';
import { enqueueJobs } from '../queue/enqueue.js';

describe('without a wake file', () => {
  it('a worker finds jobs by polling', async () => {
    const { dir, db: file } = tempDb();
    await enqueueJobs(file, []);
    // A dangling symbolic link at the wake file's path: it can be neither created (it exists),
    // nor watched, nor touched (it leads nowhere). A directory there would not do: it can be
    // watched and touched like the file.
    const wake = wakeFileOf(file);
    fs.symlinkSync(path.join(dir, 'no-such-folder', 'wake'), wake);
    const { worker, db } = await startWorker(file, ['--poll', '100ms']);
    expect(fs.lstatSync(wake).isSymbolicLink()).toBe(true);

    // Enqueued after the worker's first claim: only a later poll finds them.
    for (const total of ['50', '51']) {
      const run = await runCli(['generate', total, '--db', file]);
      expect(run.code, run.stderr).toBe(0);
      await waitFor(
        () => db.count("select count(*) from jobs where state = 'succeeded' and json_extract(payload, '$.total') = ?", Number(total)),
        `the job of ${total} users`,
        10_000,
      );
    }
    expect(fs.lstatSync(wake).isSymbolicLink()).toBe(true);
    await stopCli(worker);
    expect(await db.count('select count(*) from users')).toBe(101);
  });
});
