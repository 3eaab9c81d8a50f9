// How long does a worker stall while a backup of a large database runs?
// Builds (once, cached in the OS temp folder) a database of USERS users, starts a probe process
// that loops enqueue -> claim -> complete on it, takes `usergen backup` in a third process, and
// reports the probe's longest cycle before and during the backup.
//   node bench/backup-stall.js [users=1000000]
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { openSqliteStore } = await import(`${root}/dist/store/sqlite/store.js`);
const { claimJobs } = await import(`${root}/dist/queue/claim.js`);
const { largeDatabase } = await import('./large-database.js');

if (process.argv[2] === 'probe') await probe(process.argv[3]);
else await main(Number(process.argv[2] ?? 1_000_000));

async function main(users) {
  const file = await largeDatabase(users);
  const backups = fs.mkdtempSync(path.join(os.tmpdir(), 'usergen-bench-backups-'));
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'probe', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const started = Date.now();
  execFileSync(process.execPath, [`${root}/bin/usergen.js`, 'backup', '--db', file, '--dir', backups], { stdio: 'inherit' });
  const ended = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  child.kill('SIGTERM');
  await new Promise((resolve) => child.on('close', resolve));
  const cycles = JSON.parse(output);
  const stat = (from, to) => {
    const window = cycles
      .filter(([at]) => at >= from && at <= to)
      .map(([, ms]) => ms)
      .sort((a, b) => a - b);
    return { cycles: window.length, p50: window[Math.floor(window.length / 2)], max: window[window.length - 1] };
  };
  const size = fs.statSync(file).size;
  console.log(`database: ${users} users, ${(size / 1e6).toFixed(0)} MB; backup took ${ended - started} ms (process start included)`);
  console.log('probe cycle (enqueue + claim + complete, ms) before the backup:', stat(0, started));
  console.log('probe cycle during the backup:', stat(started, ended));
  fs.rmSync(backups, { recursive: true, force: true });
}

async function probe(file) {
  const store = await openSqliteStore(file);
  const cycles = [];
  let stopping = false;
  process.on('SIGTERM', () => (stopping = true));
  while (!stopping) {
    const begun = performance.now();
    const { id } = await store.enqueue({ task: 'probe', payload: {}, maxAttempts: 1 });
    const [job] = await claimJobs(store, 'probe', 1, 30_000, { jobId: id, tasks: ['probe'] });
    const completion = { jobId: job.id, workerId: 'probe', attempt: job.attempts, result: 'null' };
    await store.write((tx) => tx.complete(completion));
    cycles.push([Date.now(), +(performance.now() - begun).toFixed(2)]);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await store.close();
  process.stdout.write(JSON.stringify(cycles));
}
