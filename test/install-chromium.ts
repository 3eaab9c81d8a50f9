import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

// vitest globalSetup: runs once per `vitest run`, in the main process, before any test file. The
// browser tests drive Debian's chromium (Playwright's own browser download cannot work here), so a
// fresh machine gets it here, once a run, rather than once per test file.
//
// A problem is handed to the tests (test/browser.ts throws it in every browser test) rather than
// thrown here: a throw would stop the whole run, and a user without root could not run the tests
// that need no browser. A browser test is never skipped: it fails, saying why.

export const CHROMIUM = '/usr/bin/chromium';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Why the browser tests cannot run (with the command that fixes it), or null. */
    chromiumProblem: string | null;
  }
}

const USER_COMMAND = 'sudo apt-get update && sudo apt-get install -y chromium';

// Two runs at once (two checkouts on one machine) must not both run apt-get: the second would fail
// on dpkg's lock. flock(1) queues them on one lock, which the kernel drops if a run is killed, and
// the script looks again once it holds the lock. DPkg::Lock::Timeout waits out anyone else's apt
// rather than failing. Lists are updated only when the install fails without them (none on a
// fresh image, or stale ones whose packages 404).
const LOCK = path.join(os.tmpdir(), 'usergen-chromium-install.lock');
const APT = 'apt-get -y -o DPkg::Lock::Timeout=600';
const SCRIPT = `test -x ${CHROMIUM} && exit 0
export DEBIAN_FRONTEND=noninteractive
${APT} install chromium || { ${APT} update && ${APT} install chromium; }`;

function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs `command`; resolves with its exit code and the end of its output (apt prints pages). */
function run(command: string, args: string[]): Promise<{ code: number | null; tail: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (chunk: Buffer): void => {
      tail = (tail + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, tail }));
  });
}

async function chromiumProblem(): Promise<string | null> {
  if (executable(CHROMIUM)) return null;
  const missing = `the browser tests need chromium at ${CHROMIUM}`;
  if (process.getuid?.() !== 0) return `${missing}; install it (once) with: ${USER_COMMAND}`;
  if (!executable('/usr/bin/flock') || !executable('/usr/bin/apt-get')) {
    return `${missing}, and this machine has no apt-get (or flock) to install it with: install chromium so that ${CHROMIUM} exists`;
  }
  console.log(`${missing}: installing it with apt-get install -y chromium (once for this machine)...`);
  const started = Date.now();
  const { code, tail } = await run('flock', [LOCK, 'sh', '-c', SCRIPT]);
  if (code !== 0 || !executable(CHROMIUM)) {
    return `${missing}; installing it failed (exit ${code}), try: apt-get update && apt-get install -y chromium\n${tail}`;
  }
  console.log(`chromium ready after ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return null;
}

export default async function setup(project: TestProject): Promise<void> {
  project.provide('chromiumProblem', await chromiumProblem());
}
