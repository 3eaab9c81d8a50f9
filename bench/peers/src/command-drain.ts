import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteStore } from '../../../dist/store/sqlite/store.js';
import type { ChildResult, ChildSpec } from './child.js';
import { peakRssMiB } from './proc.js';
import { durabilityOf, usergenFile } from './system-usergen.js';

// The `usergen worker` command draining the jobs already queued, started as the installed command
// starts: node with the flags of bin/usergen.js's `#!/usr/bin/env -S node ...` line. Its figure is
// its peak resident memory; it runs the bench's no-op task module (bench/src/noop-task.js).

const BIN = fileURLToPath(new URL('../../../bin/usergen.js', import.meta.url));
const NOOP_TASK_MODULE = fileURLToPath(new URL('../../src/noop-task.js', import.meta.url));

function nodeFlags(bin: string): string[] {
  const [first = ''] = fs.readFileSync(bin, 'utf8').split('\n', 1);
  return first
    .replace(/^#!\S*env\s+(-S\s+)?/, '')
    .split(/\s+/)
    .filter(Boolean)
    .slice(1);
}

export async function commandDrain(spec: ChildSpec): Promise<ChildResult> {
  const file = usergenFile(spec.place);
  const args = [
    '--db',
    file,
    '--durability',
    durabilityOf(spec.place),
    'worker',
    '--concurrency',
    String(spec.concurrency),
    '--loglevel',
    'warning',
    '--tasks',
    NOOP_TASK_MODULE,
  ];
  const worker = spawn(process.execPath, [...nodeFlags(BIN), BIN, ...args], { stdio: ['ignore', 'ignore', 'inherit'], cwd: path.dirname(file) });
  const exited = new Promise<number | null>((resolve) => worker.on('close', resolve));
  let code: number | null | undefined;
  void exited.then((exit) => (code = exit));
  const store = await openSqliteStore(file, { durability: durabilityOf(spec.place) });
  try {
    while (await store.hasUnfinishedJobs()) {
      if (code !== undefined) throw new Error(`usergen worker exited (${code}) with jobs left`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { peakRssMiB: peakRssMiB(worker.pid) };
  } finally {
    worker.kill('SIGTERM');
    await exited;
    await store.close();
  }
}
