import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// The peers are installed with npm into a folder of the OS's temporary folder, never into the
// repository: they are not usergen's dependencies. The folder is named by the exact versions (and
// Node's major version), so a second run reuses it; a half-done install is never taken for one.

/**
 * Exact versions, so that every run measures the same code. graphile-worker 0.17.3 is the last
 * that runs on Node 20 (0.18 requires Node 22.18); ioredis 5.11.1 is the one BullMQ 6.7 is built
 * and tested with.
 */
export const PEER_VERSIONS: Record<string, string> = {
  plainjob: '0.0.14',
  bullmq: '6.7.0',
  ioredis: '5.11.1',
  'graphile-worker': '0.17.3',
};

const DONE_MARKER = '.installed';

export function installPeers(log: (line: string) => void): string {
  const specs = Object.entries(PEER_VERSIONS).map(([name, version]) => `${name}@${version}`);
  const key = createHash('sha256')
    .update(`${specs.join(' ')} node${process.versions.node.split('.')[0]}`)
    .digest('hex')
    .slice(0, 12);
  const folder = path.join(os.tmpdir(), `usergen-bench-peers-${key}`);
  if (fs.existsSync(path.join(folder, DONE_MARKER))) {
    log(`peers: reusing ${folder}`);
    return folder;
  }
  const staging = fs.mkdtempSync(`${folder}-installing-`);
  try {
    fs.writeFileSync(path.join(staging, 'package.json'), '{ "private": true }\n');
    log(`peers: npm install --prefix ${staging} ${specs.join(' ')}`);
    const npm = spawnSync('npm', ['install', '--prefix', staging, '--no-audit', '--no-fund', '--loglevel', 'error', ...specs], {
      // stdout is the table's (or the JSON's): npm's report goes with the progress, to stderr.
      stdio: ['ignore', 2, 2],
    });
    if (npm.error || npm.status !== 0) throw new Error(`npm install of the peers failed (${npm.error?.message ?? `exit ${npm.status}`})`);
    fs.writeFileSync(path.join(staging, DONE_MARKER), `${specs.join('\n')}\n`);
    try {
      fs.renameSync(staging, folder);
    } catch (error) {
      // Another run finished the same install first: use its folder.
      if (!fs.existsSync(path.join(folder, DONE_MARKER))) throw error;
    }
    return folder;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
