// What limits cost, and how close a rate limit comes to its figure: three queues (each its own
// store, as three worker processes have) draining no-op jobs at concurrency 8 each, on a fresh
// SQLite file per run, or on PostgreSQL with --db <url> (a schema per run). Medians of --runs.
//   npm run build && node bench/limits.js [--runs 3] [--jobs 3000] [--db postgres://...]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { defineTask, openQueue } = await import(`${root}/dist/index.js`);

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, jobs: { type: 'string', default: '3000' }, db: { type: 'string' } },
});
const RUNS = Number(values.runs);
const JOBS = Number(values.jobs);

const task = (limits) => defineTask({ name: 'noop', validate: (p) => p, ...(limits && { limits }), handler: async () => null });

/** A fresh database: an SQLite file, or a schema of its own on the PostgreSQL server. */
function database(run, name) {
  if (values.db === undefined) return { db: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'usergen-bench-limits-')), 'limits.db') };
  return { db: values.db, pgSchema: `bench_limits_${name}_${run}_${process.pid}` };
}

/** Jobs/s draining JOBS no-op jobs of `limits` with 3 queues at concurrency 8, and the jobs' claim times. */
async function drain(limits, run, name, jobs = JOBS) {
  const where = database(run, name);
  const noop = task(limits);
  const producer = await openQueue(where);
  for (let i = 0; i < jobs; i += 1_000)
    await producer.enqueueMany(
      noop,
      Array.from({ length: Math.min(1_000, jobs - i) }, (_, n) => ({ n: i + n })),
    );
  const queues = [producer, await openQueue(where), await openQueue(where)];
  const started = performance.now();
  await Promise.all(queues.map((queue) => queue.worker({ tasks: [noop], concurrency: 8, drain: true, pollMs: 20 }).run()));
  const seconds = (performance.now() - started) / 1000;
  const rows = await producer.jobs({ state: 'succeeded', limit: jobs });
  const starts = rows.map((row) => Number(row.started_at)).sort((a, b) => a - b);
  if (where.pgSchema) await producer.transaction(async (tx) => tx.db.schema.dropSchema(where.pgSchema).cascade().execute()).catch(() => {});
  await Promise.all(queues.map((queue) => queue.close()));
  if (!where.pgSchema) fs.rmSync(path.dirname(where.db), { recursive: true, force: true });
  return { perSecond: rows.length / seconds, starts, done: rows.length };
}

const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
const rows = [];
for (const [name, limits, jobs] of [
  ['unlimited', undefined, JOBS],
  ['concurrency 2', { concurrency: 2 }, JOBS],
  ['group: 1 at once per key, 24 keys', { group: { key: (payload) => `k${payload.n % 24}`, concurrency: 1 } }, JOBS],
  ['rate 500/1s', { rate: '500/1s' }, 2_500],
]) {
  const runs = [];
  for (let run = 0; run < RUNS; run++) {
    const result = await drain(limits, run, name.replace(/\W+/g, '_'), jobs);
    if (result.done !== jobs) throw new Error(`${name}: ${result.done} of ${jobs} jobs done`);
    // The most claims in any window of the rate (at most its max), and the claims per second over
    // the whole drain (above the max per window where it ends part-way into a window).
    const windowMs = 1_000;
    let most = 0;
    for (let i = 0, j = 0; i < result.starts.length; i++) {
      while (result.starts[i] - result.starts[j] >= windowMs) j++;
      most = Math.max(most, i - j + 1);
    }
    runs.push({ perSecond: result.perSecond, most });
    process.stderr.write(`${name}, run ${run + 1}: ${Math.round(result.perSecond)} jobs/s\n`);
  }
  rows.push({
    name,
    jobs_per_second: Math.round(median(runs.map((r) => r.perSecond))),
    runs: runs.map((r) => Math.round(r.perSecond)),
    ...(limits?.rate && { most_claims_in_any_second: Math.max(...runs.map((r) => r.most)) }),
  });
}
console.log(JSON.stringify({ engine: values.db === undefined ? 'sqlite' : 'postgres', jobs: JOBS, runs: RUNS, rows }, null, 2));
