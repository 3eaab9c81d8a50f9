import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { count, generate, runCli, startCli, stopCli, tempDb, waitFor, type CliProcess } from './helpers.js';
import { deletedDatabaseFiles, readFresh, readWithShell, startTraced, tracedCli, writesBehindSqlite } from './sqlite-clients.js';
import { csrfOf, post, startServe } from './web/serve-helpers.js';

// Other SQLite clients on the file while usergen's long-running processes work it: the sqlite3
// shell, a program of the user's own on better-sqlite3, usergen's own short commands. Each of them
// opens the file and closes it again. A long-running process that had dropped its locks on the
// file (any close() of any other descriptor of it drops them all) would then see the last of those
// clients checkpoint and delete the -wal and -shm under it, and go on committing into a deleted
// WAL that no other process reads.

const ROUNDS = 8;

/** The other clients, one round: each opens the file, reads or writes, and closes it. Returns the job `generate` queued. */
async function otherClients(file: string): Promise<number> {
  const queued = await runCli(['generate', '50', '--json', '--db', file]);
  expect(queued.code, queued.stderr).toBe(0);
  const shell = await readWithShell(file, "select count(*) from jobs where state = 'succeeded'");
  expect(shell.code, shell.stderr).toBe(0);
  readFresh(file, (db) => count(db, 'select count(*) from users'));
  for (const args of [['status'], ['list', '--limit', '1'], ['jobs', '--limit', '3']]) {
    const run = await runCli([...args, '--db', file]);
    expect(run.code, run.stderr).toBe(0);
  }
  return (JSON.parse(queued.stdout) as { job: { id: number } }).job.id;
}

function expectNoDeletedFiles(processes: Array<[string, CliProcess]>, file: string): void {
  for (const [name, cli] of processes) {
    expect(deletedDatabaseFiles(cli.child.pid!, file), `${name} holds deleted files of the database`).toEqual([]);
  }
}

/** The jobs of `task` a log says succeeded. */
function succeededInLog(log: string, task: string): number[] {
  return [...log.matchAll(new RegExp(`Task ${task}\\[(\\d+)\\] succeeded`, 'g'))].map((match) => Number(match[1]));
}

const seen = (file: string, sqlText: string, ...params: unknown[]) => readFresh(file, (db) => count(db, sqlText, ...params));

describe('other SQLite clients beside the long-running processes', () => {
  it('worker and serve --worker commit where a fresh reader sees it, while other clients open and close the file', async () => {
    const { db: given } = tempDb();
    await generate(given, 50);
    const file = fs.realpathSync(given);
    const worker = startCli(['worker', '--db', file, '--concurrency', '2', '--poll', '50ms']);
    const served = await startServe(['--worker', '--db', file]);
    const longRunning: Array<[string, CliProcess]> = [
      ['worker', worker],
      ['serve --worker', served.cli],
    ];
    await waitFor(() => seen(file, 'select count(*) from workers') === 2, 'the two workers to register');

    const enqueued = [1];
    for (let round = 0; round < ROUNDS; round++) {
      enqueued.push(await otherClients(file));
      expectNoDeletedFiles(longRunning, file);
    }
    await waitFor(
      () => seen(file, "select count(*) from jobs where state = 'succeeded'") === enqueued.length,
      'a fresh reader to see every job enqueued succeeded',
    );
    const logged = [...succeededInLog(worker.stderr(), 'generate_users'), ...succeededInLog(served.cli.stderr(), 'generate_users')];
    expect(logged.sort((a, b) => a - b)).toEqual(enqueued);
    expectNoDeletedFiles(longRunning, file);
    await Promise.all([stopCli(worker), served.stop()]);

    // What they committed is in the file itself, once every connection is closed.
    readFresh(file, (db) => {
      for (const id of enqueued) {
        expect(db.prepare('select state from jobs where id = ?').pluck().get(id), `job ${id}`).toBe('succeeded');
        expect(count(db, 'select count(*) from users where job_id = ?', id), `job ${id}'s users`).toBe(50);
      }
      expect(count(db, 'select count(*) from users')).toBe(50 * enqueued.length);
      expect(db.pragma('quick_check', { simple: true })).toBe('ok');
    });
  });

  it('schedule backup records every backup where a fresh reader sees it, while other clients open and close the file', async () => {
    const { dir, db: given } = tempDb();
    await generate(given, 50);
    const file = fs.realpathSync(given);
    const scheduler = startCli(['schedule', 'backup', '--every', '1s', '--dir', path.join(dir, 'backups'), '--db', file]);
    await waitFor(() => scheduler.stdout().includes('Backing up'), 'the scheduler to start');
    const backups = () => scheduler.stdout().split('Backup written: ').length - 1;
    for (let round = 0; round < ROUNDS; round++) {
      await otherClients(file);
      expectNoDeletedFiles([['schedule backup', scheduler]], file);
    }
    await waitFor(() => backups() >= 3, 'three backups');
    await stopCli(scheduler);
    readFresh(file, (db) => {
      expect(count(db, "select count(*) from jobs where task = 'backup' and state = 'succeeded'")).toBe(backups());
      expect(count(db, "select count(*) from jobs where task = 'backup'")).toBe(backups());
      expect(count(db, 'select count(*) from backups')).toBe(backups());
      expect(fs.readdirSync(path.join(dir, 'backups'))).toHaveLength(backups());
      expect(db.pragma('quick_check', { simple: true })).toBe('ok');
    });
  });
});

describe('what touches the database file', () => {
  it('the trace finds a descriptor of the file opened and closed beside a connection', async () => {
    const { dir, db: given } = tempDb();
    await generate(given, 50);
    const file = fs.realpathSync(given);
    const traceFile = path.join(dir, 'trace.txt');
    const script = `
      const fs = require('node:fs');
      const db = new (require('better-sqlite3'))(process.argv[1]);
      db.prepare('select count(*) from jobs').get();
      fs.closeSync(fs.openSync(process.argv[1], 'r'));
      db.close();`;
    const [strace, ...args] = tracedCli(file, traceFile);
    const run = await runCli([file], { command: [strace!, ...args.slice(0, -2), process.execPath, '-e', script] });
    expect(run.code, run.stderr).toBe(0);
    const problems = writesBehindSqlite(fs.readFileSync(traceFile, 'utf8'), file);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^opened outside SQLite while a connection held its locks: /);
    expect(problems[1]).toMatch(/^closed while the process held locks on it/);
  });

  it('worker, serve --worker, schedule backup and generate --wait open it through SQLite only, from start-up to exit', async () => {
    const { dir, db: given } = tempDb();
    await generate(given, 50);
    const file = fs.realpathSync(given);
    const trace = (name: string) => path.join(dir, `${name}.trace`);
    const traced = (name: string, args: string[]) => startTraced([...args, '--db', file], file, trace(name));

    // generate --wait with no worker alive runs its job in this one process.
    const waited = await traced('generate', ['generate', '50', '--wait']).exited;
    expect(waited.code, waited.stderr).toBe(0);

    const worker = traced('worker', ['worker', '--concurrency', '2', '--poll', '50ms']);
    const server = traced('serve', ['serve', '--port', '0', '--worker']);
    const scheduler = traced('schedule', ['schedule', 'backup', '--every', '1s', '--dir', path.join(dir, 'backups')]);
    const url = await waitFor(() => /Serving (http:\/\/\S+?)\/ on /.exec(server.stdout())?.[1], 'the server to listen');
    const workers = () => readFresh(file, (db) => count(db, 'select count(*) from workers'));
    await waitFor(() => workers() === 2, 'the two workers to register');
    await waitFor(() => scheduler.stdout().includes('Backing up'), 'the scheduler to start');
    for (let i = 0; i < 4; i++) await generate(file, 50);
    for (const page of ['/healthz', '/jobs', '/users', '/backups', '/metrics', '/jobs/1']) {
      expect((await fetch(url + page)).status, page).toBe(200);
    }
    const backedUp = await post(`${url}/backups`, { _csrf: await csrfOf(`${url}/backups`) }, { Origin: url });
    expect(backedUp.status).toBe(303);
    const done = (task: string) => readFresh(file, (db) => count(db, "select count(*) from jobs where task = ? and state = 'succeeded'", task));
    await waitFor(() => done('generate_users') === 6 && done('backup') >= 2, 'the jobs and two backups to succeed');

    await Promise.all([worker, server, scheduler].map((cli) => cli.stop()));
    for (const name of ['generate', 'worker', 'serve', 'schedule']) {
      const text = fs.readFileSync(trace(name), 'utf8');
      // The trace saw SQLite's own connection: an empty trace would prove nothing.
      expect(text, `${name}'s trace`).toMatch(/O_RDWR\|O_CREAT\|O_NOFOLLOW/);
      expect(writesBehindSqlite(text, file), name).toEqual([]);
    }
  });
});
