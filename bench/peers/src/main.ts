// npm run bench:peers [-- --only <systems> --jobs <n> --runs <n> --pickups <n> --json --json-file <file>]
// usergen at full and at normal durability side by side with plainjob, BullMQ, graphile-worker and
// a bare better-sqlite3 loop, in one harness on this machine: the peers installed in a temporary
// folder, redis-server and PostgreSQL started on loopback and stopped after. Progress goes to
// stderr; the table (or, with --json, one JSON document) to stdout.
import fs from 'node:fs';
import { describeMachine } from './machine.js';
import { notesFor } from './notes.js';
import { OptionsError, parseOptions, USAGE, type PeersOptions } from './options.js';
import { installPeers } from './peers.js';
import { renderTables, statistic, summarize, type Outcome, type Results } from './report.js';
import { interrupt, InterruptedError, measureOnce, planRun, type Environment } from './runner.js';
import { SetupError, startPostgres, startRedis, type Service } from './services.js';
import { loadSystem, type SystemName } from './system.js';

const log = (line: string) => process.stderr.write(`${line}\n`);
const cleanups: Array<() => Promise<void>> = [];

async function cleanUp(): Promise<void> {
  while (cleanups.length) await cleanups.pop()!().catch((error: unknown) => log(`cleanup: ${(error as Error).message}`));
}

let signalled: NodeJS.Signals | undefined;

/** The first signal ends the measurement under way and lets the run print what it has and clean up; a second exits at once. */
function onSignal(signal: NodeJS.Signals): void {
  const code = signal === 'SIGINT' ? 130 : 143;
  if (signalled) {
    void cleanUp().finally(() => process.exit(code));
    return;
  }
  signalled = signal;
  process.exitCode = code;
  log(`\n${signal}: stopping; the figures measured so far follow, then the servers stop`);
  interrupt();
}

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

async function start(service: (log: (line: string) => void) => Promise<Service>): Promise<Service> {
  const started = await service(log);
  cleanups.push(() => started.stop());
  return started;
}

async function measureAll(options: PeersOptions, env: Environment): Promise<Results> {
  const results: Results = {};
  const outcome = (system: SystemName, key: string): Outcome => {
    const measures = results[system] ?? {};
    results[system] = measures;
    const measure = measures[key as keyof typeof measures] ?? { runs: [] };
    measures[key as keyof typeof measures] = measure;
    return measure;
  };
  for (let run = 0; run < options.runs; run++) {
    const steps = planRun(options.systems, run);
    for (const [index, { system, measure }] of steps.entries()) {
      const prefix = `[run ${run + 1}/${options.runs}, ${index + 1}/${steps.length}] ${measure.key} ${system}`;
      const figures = outcome(system, measure.key);
      const implementation = await loadSystem(system);
      if (measure.key === 'pickup' && 'unsupported' in implementation.pickup) {
        figures.unsupported = implementation.pickup.unsupported;
        continue;
      }
      try {
        const result = await measureOnce(system, measure, env, run);
        figures.runs.push(result);
        log(`${prefix}: ${JSON.stringify(result)}`);
      } catch (error) {
        if (error instanceof InterruptedError) return results;
        figures.error ??= `${system} ${measure.key}: ${(error as Error).message}`;
        log(`${prefix}: failed: ${(error as Error).message}`);
      }
    }
  }
  return results;
}

/** usergen full's one-at-a-time enqueue against the fsync-bound rate, as the median of the runs' ratios. */
function fsyncLine(results: Results, runs: number): string | null {
  const bare = results['bare-claim1']?.['fsync-commits'];
  const stat = statistic(bare, 'jobsPerSecond');
  if (!stat || !bare) return null;
  const range = `${Math.round(stat.min).toLocaleString('en-US')}–${Math.round(stat.max).toLocaleString('en-US')}`;
  const usergen = results['usergen-full']?.['enqueue-one']?.runs ?? [];
  const ratios = bare.runs.map((pair, i) => (usergen[i]?.jobsPerSecond ?? NaN) / (pair.jobsPerSecond ?? NaN)).filter(Number.isFinite);
  const ratio = statistic({ runs: ratios.map((value) => ({ jobsPerSecond: value })) }, 'jobsPerSecond');
  return (
    `Fsync-bound commit rate (bare better-sqlite3, autocommit INSERTs one at a time, WAL, synchronous=FULL): ` +
    `${Math.round(stat.median).toLocaleString('en-US')} commits/s (${range}, ${runs} runs)` +
    (ratio
      ? `; usergen full's one-at-a-time enqueue is ${(100 * ratio.median).toFixed(1)}% of it (median of the runs' pairs, ${(100 * ratio.min).toFixed(1)}–${(100 * ratio.max).toFixed(1)}%).`
      : '.')
  );
}

async function main(): Promise<void> {
  let options: PeersOptions | 'help';
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof OptionsError)) throw error;
    process.stderr.write(`bench:peers: error: ${error.message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const began = Date.now();
  const date = new Date().toISOString();
  const chosen = options.systems;
  try {
    const needsPeers = chosen.some((system) => !system.startsWith('usergen-') && !system.startsWith('bare-'));
    const peers = needsPeers ? installPeers(log) : '';
    const redis = chosen.includes('bullmq') ? await start(startRedis) : null;
    const postgres = chosen.some((system) => system.startsWith('graphile-worker') || system.startsWith('usergen-pg'))
      ? await start(startPostgres)
      : null;
    const env: Environment = {
      peers,
      redisPort: redis?.port ?? null,
      postgresPort: postgres?.port ?? null,
      jobs: options.jobs,
      pickups: options.pickups,
    };
    const labels: Partial<Record<SystemName, string>> = {};
    for (const system of chosen)
      labels[system] = await (await loadSystem(system)).label({ system, dir: '', peers, redisPort: null, postgresPort: null, name: '' });
    const results = await measureAll(options, env);
    const wallMs = Date.now() - began;
    const machine = {
      ...describeMachine(),
      ...(redis ? { redis: `Redis ${redis.version}` } : {}),
      ...(postgres ? { postgres: `PostgreSQL ${postgres.version}` } : {}),
    };
    const { columnNotes, rowNotes } = notesFor(options, machine);
    const tables = renderTables({ results, systems: chosen, labels, columnNotes, rowNotes });
    const fsync = fsyncLine(results, options.runs);
    const json = `${JSON.stringify({ date, wallSeconds: Math.round(wallMs / 1000), machine, options, labels, results: summarize(results), fsync, notes: tables.notes }, null, 2)}\n`;
    if (options.jsonFile !== undefined) fs.writeFileSync(options.jsonFile, json);
    if (options.json) {
      process.stdout.write(json);
    } else {
      const header =
        `usergen and its peers, side by side (npm run bench:peers): ${options.jobs.toLocaleString('en-US')} no-op jobs, ` +
        `medians of ${options.runs} run(s)${signalled ? `, INTERRUPTED by ${signalled}: incomplete` : ''}`;
      const out = [
        header,
        `${date} · ${Object.values(machine).join(' · ')}`,
        '',
        tables.medians,
        '',
        `Min–max of the ${options.runs} run(s):`,
        '',
        tables.ranges,
        '',
        ...(fsync ? [fsync, ''] : []),
        'Notes:',
        ...tables.notes.map((note, i) => `[${i + 1}] ${note}`),
        '',
        `Wall time of the whole run: ${formatDuration(wallMs)}`,
      ];
      process.stdout.write(`${out.join('\n')}\n`);
    }
    log(`bench:peers: done in ${formatDuration(wallMs)}`);
  } catch (error) {
    if (!(error instanceof SetupError)) throw error;
    process.stderr.write(`bench:peers: error: ${error.message}\n`);
    process.exitCode = 1;
  } finally {
    await cleanUp();
  }
}

await main();
