import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, tempDb, TEST_ITERATIONS, waitFor } from '../helpers.js';
import { inspect } from '../inspect.js';
import { progressOf } from '../queue/enqueue.js';

// The CLI on a real terminal: `script` runs it on a pseudo-terminal, and what the test writes to
// script's input is typed at that terminal (Ctrl-C included, turned into SIGINT by the terminal's
// line discipline, not sent as a signal by the test).

interface TerminalRun {
  output(): string;
  type(keys: string): void;
  exited: Promise<number | null>;
}

function onTerminal(args: string[], env: Record<string, string> = {}): TerminalRun {
  // script sizes no terminal when its own input is not one: give it the size a person's has.
  const command = `stty cols 80 rows 24; ${[process.execPath, BIN, ...args].map((word) => `'${word}'`).join(' ')}`;
  const child = spawn('script', ['--quiet', '--flush', '--return', '--command', command, '/dev/null'], {
    env: { ...process.env, USERGEN_HASH_ITERATIONS: TEST_ITERATIONS, TERM: 'xterm-256color', COLUMNS: '80', LINES: '24', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return {
    output: () => output,
    type: (keys) => child.stdin.write(keys),
    exited: new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve(code));
    }),
  };
}

describe('generate --wait on a terminal', () => {
  it('shows the progress of a job it runs itself (no worker alive), even with $CI set', async () => {
    const { db: file } = tempDb();
    const run = onTerminal(['generate', '200', '--wait', '--hash-iterations', '50000', '--db', file], { CI: 'true' });
    expect(await run.exited, run.output()).toBe(0);
    expect(run.output()).toMatch(/Job 1: \d+\/200 users/);
    expect(run.output()).toContain('200 random users created with success!');
  });

  it('Ctrl-C stops waiting at once: exit 130, the job it was running back in the queue, no users', async () => {
    const { db: file } = tempDb();
    const run = onTerminal(['generate', '500', '--wait', '--hash-iterations', '200000', '--db', file]);
    await waitFor(() => run.output().includes('Queued job 1'), 'the job to be queued');
    const db = await inspect(file);
    await waitFor(async () => (await progressOf(db, 1)) > 0, 'the job to be running here');
    run.type('\x03');
    expect(await run.exited, run.output()).toBe(130);
    expect(run.output()).toContain('usergen: error: stopped waiting for job 1; it stays in the queue');

    expect(await db.count("select count(*) from jobs where id = 1 and state = 'queued' and attempts = 0")).toBe(1);
    expect(await db.count('select count(*) from users')).toBe(0);
  });
});
