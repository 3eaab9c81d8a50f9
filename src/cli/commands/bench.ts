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
  const figures: BenchFigure[] = [];
  const measure = async (name: string, unit: string, one: () => Promise<number | null> | number | null) => {
    const runs: number[] = [];
    for (let i = 0; i < options.runs; i++) {
      const value = await one();
      if (value !== null) runs.push(value);
    }
    const figure = { name, unit, runs, value: runs.length ? median(runs) : null };
    figures.push(figure);
    progress(`${name}: ${figure.value ?? 'n/a'} ${unit}`);
    return figure;
  };
  const count = options.jobs;
  // The bare rate and the library's are measured in pairs, in alternating order, so that the
  // machine's drift over the run weighs on both alike; the ratio is the median of the pairs'.
  const pairs: Array<{ bare: number; library: number }> = [];
  const commits = Math.min(count, 5_000);
  for (let i = 0; i < options.runs; i++) {
    if (i % 2 === 0) {
      const bare = bareCommitRate(commits);
      pairs.push({ bare, library: await enqueueRate(commits, 'full') });
    } else {
      const library = await enqueueRate(commits, 'full');
      pairs.push({ bare: bareCommitRate(commits), library });
    }
  }
  let pair = 0;
  await measure('bare SQLite commits (FULL)', 'commits/s', () => pairs[pair++]!.bare);
  pair = 0;
  await measure('enqueue, one at a time (full)', 'jobs/s', () => pairs[pair++]!.library);
  pair = 0;
  await measure('enqueue (full) / bare commits', '%', () => {
    const { bare, library } = pairs[pair++]!;
    return Math.round((1000 * library) / bare) / 10;
  });
  await measure('enqueue, one at a time (normal)', 'jobs/s', () => enqueueRate(Math.min(count, 20_000), 'normal'));
  await measure('enqueue, 100 in flight (full)', 'jobs/s', () => enqueueRate(Math.min(count, 20_000), 'full', 100));
  const drains: Array<{ jobsPerSecond: number; peakRssMiB: number | null }> = [];
  await measure(`drain ${formatInteger(count)} no-op jobs, ${options.workers} worker(s)`, 'jobs/s', async () => {
    const result = await drainRate(BIN, count, options.workers, options.concurrency);
    drains.push(result);
    return result.jobsPerSecond;
  });
  let drainIndex = 0;
  await measure('worker peak RSS', 'MiB', () => drains[drainIndex++]?.peakRssMiB ?? null);
  const latencies: Array<{ p50Ms: number; p99Ms: number }> = [];
  await measure(`pickup latency p50 (${options.pickups} jobs)`, 'ms', async () => {
    const latency = await pickupLatency(BIN, options.pickups);
    latencies.push(latency);
    return latency.p50Ms;
  });
  let latencyIndex = 0;
  await measure(`pickup latency p99 (${options.pickups} jobs)`, 'ms', () => latencies[latencyIndex++]?.p99Ms ?? null);
  const generations: Array<{ bareMs: number; jobMs: number }> = [];
  const label = `${options.generateTotal} users at ${formatInteger(options.generateIterations)} iterations`;
  await measure(`bare PBKDF2, ${label}`, 'ms', async () => {
    const result = await generation(options.generateTotal, options.generateIterations);
    generations.push(result);
    return result.bareMs;
  });
  let generationIndex = 0;
  await measure(`generate job, ${label}`, 'ms', () => generations[generationIndex++]?.jobMs ?? null);
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
