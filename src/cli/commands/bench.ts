import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { formatInteger, printJson, printLine, printNotice, renderTable } from '../output.js';
import { parseInteger } from '../parse.js';

export interface BenchOptions {
  jobs: number;
  concurrency: number;
  workers: number;
  runs: number;
  pickups: number;
  generateTotal: number;
  generateIterations: number;
}

export interface BenchFigure {
  name: string;
  value: number | null;
  unit: string;
  runs: number[];
}

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/usergen.js');

/** Every figure, as the median of `runs` runs. */
export async function runBench(options: BenchOptions, progress: (line: string) => void): Promise<BenchFigure[]> {
  const { bareCommitRate } = await import('../../db/bare-commit-rate.js');
  const { drainRate, enqueueRate, generation, median, pickupLatency } = await import('../../bench/measure.js');
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
  const pairs = await repeat(async (run) => {
    if (run % 2 === 0) {
      const bare = bareCommitRate(commits);
      return { bare, library: await enqueueRate(commits, 'full') };
    }
    const library = await enqueueRate(commits, 'full');
    return { bare: bareCommitRate(commits), library };
  });
  figure('bare SQLite commits (FULL)', 'commits/s', pairs.map((pair) => pair.bare));
  figure('enqueue, one at a time (full)', 'jobs/s', pairs.map((pair) => pair.library));
  figure('enqueue (full) / bare commits', '%', pairs.map(({ bare, library }) => Math.round((1000 * library) / bare) / 10));
  figure('enqueue, one at a time (normal)', 'jobs/s', await repeat(() => enqueueRate(Math.min(count, 20_000), 'normal')));
  figure('enqueue, 100 in flight (full)', 'jobs/s', await repeat(() => enqueueRate(Math.min(count, 20_000), 'full', 100)));
  const drains = await repeat(() => drainRate(BIN, count, options.workers, options.concurrency));
  figure(`drain ${formatInteger(count)} no-op jobs, ${options.workers} worker(s)`, 'jobs/s', drains.map((drain) => drain.jobsPerSecond));
  figure('worker peak RSS', 'MiB', drains.map((drain) => drain.peakRssMiB));
  const latencies = await repeat(() => pickupLatency(BIN, options.pickups));
  figure(`pickup latency p50 (${options.pickups} jobs)`, 'ms', latencies.map((latency) => latency.p50Ms));
  figure(`pickup latency p99 (${options.pickups} jobs)`, 'ms', latencies.map((latency) => latency.p99Ms));
  const generations = await repeat(() => generation(options.generateTotal, options.generateIterations));
  const label = `${options.generateTotal} users at ${formatInteger(options.generateIterations)} iterations`;
  figure(`bare PBKDF2, ${label}`, 'ms', generations.map((result) => result.bareMs));
  figure(`generate job, ${label}`, 'ms', generations.map((result) => result.jobMs));
  return figures;
}

interface Flags {
  jobs: string;
  concurrency: string;
  workers: string;
  runs: string;
  pickups: string;
  generateIterations: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('bench')
    .description('measure the queue on this machine (temporary databases): enqueue, drain, pickup latency, generation')
    .option('--jobs <n>', 'no-op jobs drained per run', '10000')
    .option('--concurrency <n>', 'jobs at once in each worker process', '64')
    .option('--workers <n>', 'worker processes draining', '1')
    .option('--runs <n>', 'runs per figure (the median is reported)', '3')
    .option('--pickups <n>', 'jobs timed for pickup latency', '200')
    .option('--generate-iterations <n>', 'PBKDF2 iterations of the generation figure', '260000')
    .option('--json', 'print the figures as JSON')
    .action(async (flags: Flags) => {
      const options: BenchOptions = {
        jobs: parseInteger(flags.jobs, '--jobs', 10, 1_000_000),
        concurrency: parseInteger(flags.concurrency, '--concurrency', 1, 1000),
        workers: parseInteger(flags.workers, '--workers', 1, 64),
        runs: parseInteger(flags.runs, '--runs', 1, 20),
        pickups: parseInteger(flags.pickups, '--pickups', 1, 10_000),
        generateTotal: 200,
        generateIterations: parseInteger(flags.generateIterations, '--generate-iterations', 1000, 10_000_000),
      };
      const figures = await runBench(options, flags.json ? () => {} : printNotice);
      const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, Node ${process.version}`;
      if (flags.json) {
        printJson({ machine, options, figures });
        return;
      }
      const rows = figures.map((figure) => [figure.name, figure.value === null ? 'n/a' : formatInteger(figure.value), figure.unit]);
      printLine(await renderTable(['Measure', `Median of ${options.runs}`, 'Unit'], rows));
      printLine(machine);
    });
}
