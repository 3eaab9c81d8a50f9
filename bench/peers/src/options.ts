import { parseArgs } from 'node:util';
import { SYSTEMS, type SystemName } from './system.js';

export interface PeersOptions {
  systems: SystemName[];
  jobs: number;
  runs: number;
  pickups: number;
  json: boolean;
  /** Also write the JSON document to this file. */
  jsonFile: string | undefined;
}

export const USAGE = `usage: npm run bench:peers -- [options]
  --only <systems>   a comma-separated subset of: ${SYSTEMS.join(', ')}
                     (also: usergen = both usergen columns on SQLite, usergen-pg = both on
                     PostgreSQL, postgres = those and graphile-worker, graphile = both graphile-worker
                     columns, bare = both bare loops); default: all
  --jobs <n>         no-op jobs per enqueue and drain measurement (default 20000)
  --runs <n>         runs of every measurement; the table shows medians (default 3)
  --pickups <n>      jobs timed one at a time for pickup latency, per run (default 200)
  --json             print the results as one JSON document on stdout instead of the table
  --json-file <file> also write that JSON document to <file>`;

export class OptionsError extends Error {}

const GROUPS: Record<string, SystemName[]> = {
  usergen: ['usergen-full', 'usergen-normal'],
  'usergen-pg': ['usergen-pg-full', 'usergen-pg-normal'],
  postgres: ['usergen-pg-full', 'usergen-pg-normal', 'graphile-worker', 'graphile-worker-defaults'],
  graphile: ['graphile-worker', 'graphile-worker-defaults'],
  bare: ['bare-claim1', 'bare-claim50'],
};

function integer(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new OptionsError(`--${name} must be an integer from ${min} to ${max}, not '${text}'`);
  return value;
}

function systems(list: string | undefined): SystemName[] {
  if (list === undefined) return [...SYSTEMS];
  const chosen = new Set<SystemName>();
  for (const word of list
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const group = GROUPS[word] ?? (SYSTEMS.includes(word as SystemName) ? [word as SystemName] : undefined);
    if (!group)
      throw new OptionsError(`--only: unknown system '${word}' (known: ${SYSTEMS.join(', ')}, usergen, usergen-pg, postgres, graphile, bare)`);
    for (const system of group) chosen.add(system);
  }
  if (chosen.size === 0) throw new OptionsError('--only names no system');
  return SYSTEMS.filter((system) => chosen.has(system));
}

export function parseOptions(args: string[]): PeersOptions | 'help' {
  // biome-ignore lint/suspicious/noImplicitAnyLet: parseArgs' inferred type, set in the try below.
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        only: { type: 'string' },
        jobs: { type: 'string', default: '20000' },
        runs: { type: 'string', default: '3' },
        pickups: { type: 'string', default: '200' },
        json: { type: 'boolean', default: false },
        'json-file': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new OptionsError((error as Error).message);
  }
  if (values.help) return 'help';
  return {
    systems: systems(values.only),
    jobs: integer('jobs', values.jobs, 100, 1_000_000),
    runs: integer('runs', values.runs, 1, 20),
    pickups: integer('pickups', values.pickups, 1, 10_000),
    json: values.json,
    jsonFile: values['json-file'],
  };
}
