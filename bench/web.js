// What `usergen serve` costs: /users page 1 and the last page on a 1,000,000-user database, and
// requests per second on /users and /jobs while a worker drains no-op jobs on the same database.
//   npm run bench:web [-- users=1000000]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'usergen.js');
const noopTasks = path.join(root, 'bench', 'src', 'noop-task.js');
const { largeDatabase } = await import('./large-database.js');
const users = Number(process.argv[2] ?? 1_000_000);

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function start(args) {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  const url = new Promise((resolve, reject) => {
    child.stdout.on('data', () => {
      const match = /Serving (http:\/\/\S+?)\/ on /.exec(out);
      if (match) resolve(match[1]);
    });
    child.on('close', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  return {
    child,
    url,
    stop: () =>
      new Promise((resolve) => {
        child.on('close', resolve);
        child.kill('SIGTERM');
      }),
  };
}

/** Median milliseconds of `runs` sequential GETs of `url`. */
async function latency(url, runs = 21) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const response = await fetch(url);
    await response.text();
    if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
    times.push(performance.now() - started);
  }
  return +median(times).toFixed(1);
}

/** Requests per second on `url` from `clients` concurrent loops, for `ms`. */
async function throughput(url, ms = 5_000, clients = 8) {
  let done = 0;
  const until = performance.now() + ms;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const response = await fetch(url);
        await response.text();
        if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
        done++;
      }
    }),
  );
  return Math.round((done * 1000) / ms);
}

const file = await largeDatabase(users);
const pages = Math.ceil(users / 50);
const reader = start(['serve', '--read-only', '--port', '0', '--db', file]);
const base = await reader.url;
await latency(`${base}/users`, 3);
const figures = {
  [`/users page 1 of ${pages.toLocaleString('en-US')} (${users.toLocaleString('en-US')} users), median ms`]: await latency(`${base}/users`),
  '/users last page, median ms': await latency(`${base}/users?page=${pages}`),
  '/users?order=newest page 1, median ms': await latency(`${base}/users?order=newest`),
  [`/users page ${Math.floor(pages / 2).toLocaleString('en-US')} (the middle), median ms`]: await latency(
    `${base}/users?page=${Math.floor(pages / 2)}`,
    5,
  ),
};
await reader.stop();

// A scratch database: 200,000 no-op jobs, a worker draining them, the server under load meanwhile.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usergen-bench-web-'));
const scratch = path.join(dir, 'web.db');
const { openQueue } = await import(`${root}/dist/index.js`);
const { noop } = await import(noopTasks);
const queue = await openQueue({ db: scratch });
await queue.enqueueMany(
  noop,
  Array.from({ length: 200_000 }, () => ({})),
);
await queue.close();
const server = start(['serve', '--port', '0', '--db', scratch]);
const url = await server.url;
const worker = spawn(process.execPath, [bin, 'worker', '--db', scratch, '--tasks', noopTasks, '--loglevel', 'warning'], { stdio: 'ignore' });
await new Promise((resolve) => setTimeout(resolve, 500));
figures['/users while a worker drains, requests/s (8 clients)'] = await throughput(`${url}/users`);
figures['/jobs while a worker drains, requests/s (8 clients)'] = await throughput(`${url}/jobs`);
await new Promise((resolve) => {
  worker.on('close', resolve);
  worker.kill('SIGTERM');
});
await server.stop();
fs.rmSync(dir, { recursive: true, force: true });

console.log(`${os.cpus()[0]?.model.split(' ').slice(0, 2).join(' ')}, ${os.availableParallelism()} cores, Node ${process.version}`);
for (const [name, value] of Object.entries(figures)) console.log(`${name}: ${value}`);
