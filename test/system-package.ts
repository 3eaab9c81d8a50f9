import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// A system package the tests need (chromium, postgresql-15), installed once a machine by the
// global setups: with apt-get when running as root, else the problem names the command to run.
//
// Two runs at once (two checkouts on one machine) must not both run apt-get: the second would fail
// on dpkg's lock. flock(1) queues them on one lock, which the kernel drops if a run is killed, and
// the script looks again once it holds the lock. DPkg::Lock::Timeout waits out anyone else's apt
// rather than failing. Lists are updated only when the install fails without them (none on a
// fresh image, or stale ones whose packages 404).

const APT = 'apt-get -y -o DPkg::Lock::Timeout=600';

export function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs `command`; resolves with its exit code and the end of its output (apt prints pages). */
export function run(command: string, args: string[], cwd?: string): Promise<{ code: number | null; tail: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
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

/**
 * Makes sure `file` exists, installing `pkg` when it does not; null when it is there, else why
 * not (with the command that fixes it). `needs` says who needs it, for the messages.
 */
export async function installProblem(file: string, pkg: string, needs: string): Promise<string | null> {
  if (executable(file)) return null;
  const missing = `${needs} (${file})`;
  if (process.getuid?.() !== 0) return `${missing}; install it (once) with: sudo apt-get update && sudo apt-get install -y ${pkg}`;
  if (!executable('/usr/bin/flock') || !executable('/usr/bin/apt-get')) {
    return `${missing}, and this machine has no apt-get (or flock) to install it with: install ${pkg} so that ${file} exists`;
  }
  console.log(`${missing}: installing it with apt-get install -y ${pkg} (once for this machine)...`);
  const started = Date.now();
  const lock = path.join(os.tmpdir(), `usergen-${pkg}-install.lock`);
  const script = `test -x ${file} && exit 0
export DEBIAN_FRONTEND=noninteractive
${APT} install ${pkg} || { ${APT} update && ${APT} install ${pkg}; }`;
  const { code, tail } = await run('flock', [lock, 'sh', '-c', script]);
  if (code !== 0 || !executable(file)) {
    return `${missing}; installing it failed (exit ${code}), try: apt-get update && apt-get install -y ${pkg}\n${tail}`;
  }
  console.log(`${pkg} ready after ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return null;
}
