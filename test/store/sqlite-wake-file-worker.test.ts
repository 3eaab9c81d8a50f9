import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { wakeFileOf } from '../../src/store/sqlite/wake.js';
import { generate, startWorker, stopCli, tempDb, waitFor } from '../helpers.js';

// The wake files in /dev/shm: made by the workers that watch them, gone with the last worker on
// their database, and never outliving the database.

describe('wake files', () => {
  it("one holds its database's path, and the last worker to stop removes it", async () => {
    const { db: file } = tempDb();
    await generate(file, 50);

    const first = await startWorker(file);
    const second = await startWorker(file, [], 2);
    expect(fs.readFileSync(wakeFileOf(file), 'utf8')).toBe(file);
    await stopCli(first.worker);
    expect(fs.existsSync(wakeFileOf(file))).toBe(true);
    await stopCli(second.worker);
    expect(fs.existsSync(wakeFileOf(file))).toBe(false);
  });

  it('one left by a killed worker is removed by the next worker to start once its database is gone', async () => {
    const gone = tempDb();
    await generate(gone.db, 50);
    const { worker: killed } = await startWorker(gone.db);
    // A worker makes its wake file just after it has registered.
    await waitFor(() => fs.existsSync(wakeFileOf(gone.db)), 'the worker to make its wake file');
    killed.child.kill('SIGKILL');
    await killed.exited;
    expect(fs.existsSync(wakeFileOf(gone.db))).toBe(true);
    fs.rmSync(gone.dir, { recursive: true, force: true });

    const { db: file } = tempDb();
    await generate(file, 50);
    const { worker } = await startWorker(file);
    await waitFor(() => !fs.existsSync(wakeFileOf(gone.db)), 'the stale wake file to be removed');
    await stopCli(worker);
  });

  it('a FIFO named like a wake file does not stop a worker from starting and stopping', async () => {
    const fifo = `/dev/shm/usergen-${randomBytes(12).toString('hex')}.wake`;
    execFileSync('mkfifo', [fifo]);
    onTestFinished(() => fs.rmSync(fifo, { force: true }));
    const { db: file } = tempDb();
    await generate(file, 50);
    const { worker } = await startWorker(file);
    await stopCli(worker);
    expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
  });
});
