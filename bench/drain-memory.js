// Does a worker's memory stay flat over a long drain? 800,000 no-op jobs, one `usergen worker` at
// concurrency 64, its RSS sampled every 100 ms: the end of the first quarter against the last quarter.
//   npm run build && node bench/drain-memory.js
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { openQueue } = await import(`${root}/dist/index.js`);
const { noop } = await import(`${root}/bench/src/noop-task.js`);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usergen-bench-memory-'));
const db = `${dir}/r.db`;
const queue = await openQueue({ db });
const N = 800_000;
for (let i = 0; i < N; i += 50_000)
  await queue.enqueueMany(
    noop,
    Array.from({ length: 50_000 }, () => ({})),
  );
await queue.close();
const started = performance.now();
const child = spawn(
  `${root}/bin/usergen.js`,
  ['worker', '--db', db, '--concurrency', '64', '--tasks', `${root}/bench/src/noop-task.js`, '--drain', '--loglevel', 'warning'],
  { stdio: 'inherit' },
);
const samples = [];
const timer = setInterval(() => {
  try {
    const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
    samples.push([performance.now() - started, Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024]);
  } catch {}
}, 100);
await new Promise((resolve) => child.on('close', resolve));
clearInterval(timer);
const total = performance.now() - started;
const at = (fraction) => samples.filter(([t]) => t <= total * fraction).at(-1)?.[1];
const last = samples.filter(([t]) => t >= total * 0.75).map(([, r]) => r);
console.log(
  `drained ${N} in ${(total / 1000).toFixed(1)} s (${Math.round((N * 1000) / total)} jobs/s); RSS MiB: end of first quarter ${at(0.25)?.toFixed(1)}, half ${at(0.5)?.toFixed(1)}, last quarter min ${Math.min(...last).toFixed(1)} max ${Math.max(...last).toFixed(1)}, peak ${Math.max(...samples.map(([, r]) => r)).toFixed(1)}`,
);
fs.rmSync(dir, { recursive: true });
