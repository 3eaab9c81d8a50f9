// npm run bench [-- --jobs <n> --concurrency <n> --workers <n> --runs <n> --pickups <n>
//                   --generate-iterations <n> --db <postgres url> --json]
// Measures the queue on this machine, on temporary databases: enqueue, drain, pickup latency and
// generation, each figure the median of --runs runs. Progress goes to stderr, the table to stdout.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatInteger, renderTable } from '../../dist/cli/output.js';
import { isPostgresUrl, printableLocation } from '../../dist/store/postgres/location.js';
import { bareCommitRate } from './bare-commit-rate.js';
import { claimsPastOthers, drainRate, enqueueManyRate, enqueueRate, generation, measureOn, median, pickupLatency, resultLatency } from './measure.js';

interface BenchOptions {
  jobs: number;
  concurrency: number;
  workers: number;
  runs: number;
  pickups: number;
  generateTotal: number;
  generateIterations: number;
  /** A PostgreSQL URL to measure on instead of SQLite files. */
  db: string | undefined;
}

interface BenchFigure {
  name: string;
  value: number | null;
  unit: string;
  runs: number[];
}

// Workers start as the installed command does: through the bin, with its node flags.
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/usergen.js');

const USAGE = `usage: npm run bench -- [options]
  --jobs <n>                  no-op jobs drained per run (default 10000)
  --concurrency <n>           jobs at once in each worker process (default 64)
  --workers <n>               worker processes draining (default 1)
  --runs <n>                  runs per figure, the median is reported (default 3)
  --pickups <n>               jobs timed for pickup latency (default 200)
  --generate-iterations <n>   PBKDF2 iterations of the generation figure (default 260000)
  --db <postgres url>         measure on this PostgreSQL database (each measurement in a schema
                              of its own, dropped after) instead of SQLite files
  --json                      print the figures as JSON`;

class BenchUsageError extends Error {}

/** Every figure, as the median of `runs` runs. */
async function runBench(options: BenchOptions, progress: (line: string) => void): Promise<BenchFigure[]> {
  const repeat = async <T>(one: (run: number) => Promise<T>): Promise<T[]> => {
    const results: T[] = [];
    for (let i = 0; i < options.runs; i++) results.push(await one(i));
    return results;
  };
  const figures: BenchFigure[] = [];
  const figure = (name: string, unit: string, values: Array<number | null>) => {
    const runs = values.filter((value) => value !== null);
    const value = runs.length ? median(runs) : null;
    figures.push({ name, unit, runs, value });
    progress(`${name}: ${value ?? 'n/a'} ${unit}`);
  };
  const count = options.jobs;
  // The bare rate and the library's are measured in pairs, in alternating order, so that the
  // machine's drift over the run weighs on both alike; the ratio is the median of the pairs'.
  const commits = Math.min(count, 5_000);
  if (options.db !== undefined) {
    // No bare loop to hold PostgreSQL to: its commit rate is the server's.
    figure('enqueue, one at a time (full)', 'jobs/s', await repeat(() => enqueueRate(commits, 'full')));
  }
  const pairs =
    options.db !== undefined
      ? []
      : await repeat(async (run) => {
          if (run % 2 === 0) {
            const bare = bareCommitRate(commits);
            return { bare, library: await enqueueRate(commits, 'full') };
          }
          const library = await enqueueRate(commits, 'full');
          return { bare: bareCommitRate(commits), library };
        });
  if (options.db === undefined) {
    figure(
      'bare SQLite commits (FULL)',
      'commits/s',
      pairs.map((pair) => pair.bare),
    );
    figure(
      'enqueue, one at a time (full)',
      'jobs/s',
      pairs.map((pair) => pair.library),
    );
    figure(
      'enqueue (full) / bare commits',
      '%',
      pairs.map(({ bare, library }) => Math.round((1000 * library) / bare) / 10),
    );
  }
  figure('enqueue, one at a time (normal)', 'jobs/s', await repeat(() => enqueueRate(Math.min(count, 20_000), 'normal')));
  figure('enqueue, 100 in flight (full)', 'jobs/s', await repeat(() => enqueueRate(Math.min(count, 20_000), 'full', 100)));
  figure('enqueueMany, chunks of 1,000 (full)', 'jobs/s', await repeat(() => enqueueManyRate(Math.max(count, 100_000), 'full')));
  const drains = await repeat(() => drainRate(BIN, count, options.workers, options.concurrency));
  figure(
    `drain ${formatInteger(count)} no-op jobs, ${options.workers} worker(s)`,
    'jobs/s',
    drains.map((drain) => drain.jobsPerSecond),
  );
  figure(
    'worker peak RSS',
    'MiB',
    drains.map((drain) => drain.peakRssMiB),
  );
  figure('claims, 1 job each, 100,000 jobs of another task ahead (normal)', 'claims/s', await repeat(() => claimsPastOthers(100_000)));
  const latencies = await repeat(() => pickupLatency(BIN, options.pickups));
  figure(
    `pickup latency p50 (${options.pickups} jobs)`,
    'ms',
    latencies.map((latency) => latency.p50Ms),
  );
  figure(
    `pickup latency p99 (${options.pickups} jobs)`,
    'ms',
    latencies.map((latency) => latency.p99Ms),
  );
  const results = await repeat(() => resultLatency(BIN, options.pickups));
  figure(
    `result latency p50, another process waiting (${options.pickups} jobs)`,
    'ms',
    results.map((latency) => latency.p50Ms),
  );
  figure(
    `result latency p99, another process waiting (${options.pickups} jobs)`,
    'ms',
    results.map((latency) => latency.p99Ms),
  );
  const generations = await repeat(() => generation(options.generateTotal, options.generateIterations));
  const label = `${options.generateTotal} users at ${formatInteger(options.generateIterations)} iterations`;
  figure(
    `bare PBKDF2, ${label}`,
    'ms',
    generations.map((result) => result.bareMs),
  );
  figure(
    `generate job, ${label}`,
    'ms',
    generations.map((result) => result.jobMs),
  );
  return figures;
}

function parseFlags(args: string[]): { options: BenchOptions; json: boolean } | 'help' {
  // biome-ignore lint/suspicious/noImplicitAnyLet: parseArgs' inferred type, set in the try below.
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        jobs: { type: 'string', default: '10000' },
        concurrency: { type: 'string', default: '64' },
        workers: { type: 'string', default: '1' },
        runs: { type: 'string', default: '3' },
        pickups: { type: 'string', default: '200' },
        'generate-iterations': { type: 'string', default: '260000' },
        db: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new BenchUsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const integer = (name: keyof typeof values, min: number, max: number): number => {
    const text = String(values[name]);
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
      throw new BenchUsageError(`--${name} must be an integer from ${formatInteger(min)} to ${formatInteger(max)}, not '${text}'`);
    }
    return value;
  };
  return {
    json: values.json,
    options: {
      jobs: integer('jobs', 10, 1_000_000),
      concurrency: integer('concurrency', 1, 1000),
      workers: integer('workers', 1, 64),
      runs: integer('runs', 1, 20),
      pickups: integer('pickups', 1, 10_000),
      generateTotal: 200,
      generateIterations: integer('generate-iterations', 1000, 10_000_000),
      db: postgresOption(values.db),
    },
  };
}

function postgresOption(db: string | undefined): string | undefined {
  if (db !== undefined && !isPostgresUrl(db))
    throw new BenchUsageError(`--db takes a postgres:// URL (SQLite is measured on temporary files), not '${printableLocation(db)}'`);
  return db;
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    process.stderr.write(`bench: error: ${error.message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const { options, json } = parsed;
  measureOn(options.db);
  const figures = await runBench(options, json ? () => {} : (line) => process.stderr.write(`${line}\n`));
  const database = options.db === undefined ? 'SQLite files' : printableLocation(options.db);
  const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, Node ${process.version}, on ${database}`;
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ machine, options: { ...options, db: options.db && printableLocation(options.db) }, figures }, null, 2)}\n`,
    );
    return;
  }
  const rows = figures.map((figure) => [figure.name, figure.value === null ? 'n/a' : formatInteger(figure.value), figure.unit]);
  process.stdout.write(`${await renderTable(['Measure', `Median of ${options.runs}`, 'Unit'], rows)}\n${machine}\n`);
}

await main();
