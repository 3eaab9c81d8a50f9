import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3 from 'better-sqlite3';
import { expect, inject, onTestFinished } from 'vitest';
import { BIN, startCli, type CliProcess, type CliResult } from './helpers.js';
import { SQLITE_SHELL, STRACE } from './install-sqlite-tools.js';

// Other SQLite clients beside usergen's processes, as users have them (the sqlite3 shell, a
// program of their own on better-sqlite3), and what a process does to the database's files: the
// descriptors it holds (/proc/<pid>/fd) and every open and close of them (strace).

export function sqliteShell(): string {
  const problem = inject('sqliteShellProblem');
  if (problem !== null) throw new Error(problem);
  return SQLITE_SHELL;
}

export interface ShellRead {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One run of the sqlite3 shell on `file`: it opens the file, runs `query`, closes it and exits. */
export function readWithShell(file: string, query: string): Promise<ShellRead> {
  return new Promise((resolve, reject) => {
    const child = spawn(sqliteShell(), ['-cmd', '.timeout 10000', file, query], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Opens `file` with better-sqlite3 in a connection of its own, reads with it, and closes it. */
export function readFresh<T>(file: string, read: (db: BetterSqlite3.Database) => T): T {
  const db = new BetterSqlite3(file, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 10000');
    return read(db);
  } finally {
    db.close();
  }
}

/**
 * An operator watching the queue: the sqlite3 shell run against `file` over and over (each run
 * opens and closes its own connection) until `stop`, which fails the test if any read failed and
 * returns how many succeeded. Stopped when the test ends, if not before.
 */
export function watchWithShell(file: string): { stop(): Promise<number> } {
  sqliteShell();
  let stopped = false;
  let reads = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (!stopped) {
      // A new database's schema may not be there yet: the watcher neither creates the file nor
      // counts a read of a table not made yet.
      if (fs.existsSync(file) && fs.statSync(file).size > 0) {
        const run = await readWithShell(file, 'select state, count(*) from jobs group by state');
        if (run.code === 0) reads += 1;
        else if (!run.stderr.includes('no such table')) failures.push(run.stderr.trim());
      }
      // An operator's `watch` interval, not a wait for an event: it reads on a clock.
      await sleep(50);
    }
  })();
  const stop = async (): Promise<number> => {
    stopped = true;
    await loop;
    expect(failures, 'the sqlite3 shell could not read the file').toEqual([]);
    expect(reads, 'the sqlite3 shell never read the jobs').toBeGreaterThan(0);
    return reads;
  };
  onTestFinished(async () => {
    if (!stopped) await stop();
  });
  return { stop };
}

/** The database's files (itself, -wal, -shm) that process `pid` holds open though they were deleted. */
export function deletedDatabaseFiles(pid: number, file: string): string[] {
  const held: string[] = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    if ([file, `${file}-wal`, `${file}-shm`].some((name) => target === `${name} (deleted)`)) held.push(target);
  }
  return held;
}

/**
 * Starts the built CLI with `args` under strace (tracedCli), which blocks the signals it is sent
 * while it writes to a file: stop the CLI itself (`stop`), and strace exits with its code. Killed
 * when the test ends, if still running.
 */
export function startTraced(args: string[], file: string, traceFile: string): CliProcess & { stop(): Promise<CliResult> } {
  const tracer = startCli(args, { command: tracedCli(file, traceFile) });
  const pid = tracedPid(tracer);
  onTestFinished(async () => {
    try {
      process.kill(await pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  });
  return {
    ...tracer,
    async stop() {
      process.kill(await pid, 'SIGTERM');
      const exit = await tracer.exited;
      if (exit.code !== 0) throw new Error(`exit ${exit.code ?? exit.signal} after SIGTERM; stderr:\n${exit.stderr}`);
      return exit;
    },
  };
}

/** The pid of the CLI that `tracer` (strace) runs; not that of a child strace starts to probe the kernel. */
async function tracedPid(tracer: CliProcess): Promise<number> {
  const children = `/proc/${tracer.child.pid}/task/${tracer.child.pid}/children`;
  for (let tries = 0; tries < 1000; tries++) {
    for (const pid of fs.readFileSync(children, 'utf8').trim().split(/\s+/).filter(Boolean)) {
      try {
        // Once it has exec'd the CLI: before, a fork of strace has strace's command line.
        if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[1] === BIN) return Number(pid);
      } catch {
        // Gone meanwhile.
      }
    }
    await sleep(10);
  }
  throw new Error(`strace (pid ${tracer.child.pid}) started no usergen process`);
}

/**
 * The command that runs the built CLI under strace, writing to `traceFile` every open, lock and
 * close of the database `file`, its -wal and its -shm, in the process and its threads. Give it to startCli
 * as `command`; stop the CLI itself (tracedPid), not strace, which would only let go of it.
 */
export function tracedCli(file: string, traceFile: string): string[] {
  const problem = inject('straceProblem');
  if (problem !== null) throw new Error(problem);
  const paths = [file, `${file}-wal`, `${file}-shm`].flatMap((name) => ['-P', name]);
  return [STRACE, '-f', '-qq', '-y', '--seccomp-bpf', '-e', 'trace=openat,open,close,fcntl', ...paths, '-o', traceFile, process.execPath, BIN];
}

/**
 * What a trace (tracedCli's) shows done to the database behind SQLite's back, while the process
 * held a lock on the file (SQLite's connections take them with fcntl, on the file and its -shm):
 * - a close() of any descriptor of the file: POSIX drops every lock the process holds on that
 *   file, its connections' included. SQLite never does it: it keeps such a descriptor open
 *   until no connection of the process holds a lock.
 * - an open of the file, -wal or -shm not made by SQLite: SQLite's unix VFS opens every one of
 *   them with O_NOFOLLOW, and node's fs does not.
 * The trace is of one process (its threads share descriptors and locks), with no child of its own
 * that opens the file.
 */
export function writesBehindSqlite(trace: string, file: string): string[] {
  const names = [file, `${file}-wal`, `${file}-shm`];
  // The byte ranges held, per file, as "start:length" (length 0: to the end of the file).
  const locks = new Map(names.map((name) => [name, new Set<string>()]));
  const problems: string[] = [];
  const fdOf = /\((\d+)<([^>]*?)>(?:\s?\(deleted\))?[,)]/;
  for (const line of wholeCalls(trace)) {
    const opened = /open(?:at)?\(.*?"([^"]+)", ([A-Z_|]+).*\) = \d+</.exec(line);
    if (opened) {
      const [, name, flags] = opened;
      if (names.includes(name!) && !flags!.includes('O_NOFOLLOW') && locks.get(file)!.size > 0) {
        problems.push(`opened outside SQLite while a connection held its locks: ${line}`);
      }
      continue;
    }
    const [, , name] = fdOf.exec(line) ?? [];
    const held = locks.get(name ?? '');
    if (held === undefined) continue;
    if (/^\d+\s+close\(/.test(line)) {
      // Not the -shm: SQLite opens it once a process and closes it, locks and all, with the
      // process's last connection; any other descriptor of it is an open outside SQLite.
      if (held.size > 0 && name === file) problems.push(`closed while the process held locks on it (they are all dropped): ${line}`);
      continue;
    }
    const lock = /F_SETLKW?, \{l_type=(F_RDLCK|F_WRLCK|F_UNLCK), l_whence=SEEK_SET, l_start=(\d+), l_len=(\d+)\}\) = 0/.exec(line);
    if (!lock) continue;
    const [, type, start, length] = lock;
    if (type !== 'F_UNLCK') {
      held.add(`${start}:${length}`);
      continue;
    }
    const from = Number(start);
    const to = Number(length) === 0 ? Infinity : from + Number(length);
    for (const range of held) {
      const [rangeStart, rangeLength] = range.split(':').map(Number) as [number, number];
      const rangeEnd = rangeLength === 0 ? Infinity : rangeStart + rangeLength;
      if (rangeStart < to && from < rangeEnd) held.delete(range);
    }
  }
  return problems;
}

/** strace's lines with each call that another thread interrupted (`<unfinished ...>`, `<... resumed>`) put back in one. */
function wholeCalls(trace: string): string[] {
  const unfinished = new Map<string, string>();
  const calls: string[] = [];
  for (const raw of trace.split('\n')) {
    const line = raw.trim();
    const pid = /^(\d+)\s/.exec(line)?.[1] ?? '';
    if (line.endsWith('<unfinished ...>')) {
      unfinished.set(pid, line.slice(0, -'<unfinished ...>'.length).trimEnd());
      continue;
    }
    const resumed = /^\d+\s+<\.\.\. \w+ resumed>(.*)$/.exec(line);
    if (resumed) {
      calls.push(`${unfinished.get(pid) ?? ''}${resumed[1]}`);
      unfinished.delete(pid);
      continue;
    }
    if (line !== '') calls.push(line);
  }
  return calls;
}
