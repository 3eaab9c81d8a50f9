import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ROOT } from './helpers.js';

// usergen as a library, as a user's project gets it: the tarball `npm pack` makes, unpacked into
// node_modules/usergen of a new project (its dependencies linked from this checkout's, where
// `npm install` would fetch them and compile better-sqlite3), and a TypeScript program that
// imports only from 'usergen', compiled with tsc --strict and run.

const PROGRAM = `
import { defineTask, openQueue, type EnqueueOptions, type JobEvent } from 'usergen';

interface Greeting {
  name: string;
}

const greet = defineTask<Greeting, string>({
  name: 'greet',
  validate(payload) {
    const { name } = payload as Partial<Greeting>;
    if (typeof name !== 'string') throw new Error('name must be a string');
    return { name };
  },
  async handler({ name }) {
    return \`hello, \${name}\`;
  },
});

const queue = await openQueue({ db: 'app.db' });
const one = await queue.enqueue(greet, { name: 'ada' });
const many = await queue.enqueueMany(greet, [{ name: 'alan' }, { name: 'grace' }]);
// @ts-expect-error: the payload of greet has a name
await queue.enqueue(greet, { nom: 'x' }).catch(() => undefined);
// @ts-expect-error: every payload of enqueueMany is checked, not only the first
await queue.enqueueMany(greet, [{ name: 'x' }, {}]).catch(() => undefined);
const once = await queue.enqueue(greet, { name: 'once' }, { uniqueKey: 'greet:once' });
const twice = await queue.enqueue(greet, { name: 'once' }, { uniqueKey: 'greet:once' });
// @ts-expect-error: with a uniqueKey nothing may be enqueued, so the job may be undefined
once.id;
async function typesOnly(options: EnqueueOptions) {
  // @ts-expect-error: options that may hold a uniqueKey may enqueue nothing too
  return (await queue.enqueue(greet, { name: 'x' }, options)).id;
}
void typesOnly;
const unchecked: unknown = {};
// @ts-expect-error: a payload of unknown type is no Greeting
await queue.enqueue(greet, unchecked).catch(() => undefined);

// A job and a row of the application's own table commit together, or not at all.
await queue.transaction((tx) => tx.db.schema.createTable('greeted').ifNotExists().addColumn('name', 'text').execute());
await queue.transaction(async (tx) => {
  await tx.enqueue(greet, { name: 'linus' });
  await tx.db.insertInto('greeted').values({ name: 'linus' }).execute();
});
const refused = await queue
  .transaction(async (tx) => {
    await tx.enqueue(greet, { name: 'nobody' });
    await tx.db.insertInto('greeted').values({ name: 'nobody' }).execute();
    throw new Error('changed my mind');
  })
  .catch((error: Error) => error.message);

const worker = queue.worker({ tasks: [greet], concurrency: 2, drain: true });
const events: JobEvent[] = [];
worker.on('succeeded', (event) => events.push(event));
const summary = await worker.run();
const done = await queue.getJob(many[1]!);
// The result, typed by the task: greet's is a string.
const greeting: string = await queue.result(one, { timeoutMs: 10_000 });
// @ts-expect-error: greet's result is a string, not a number
const notANumber: number = await queue.result(one);
const greeted = await queue.transaction((tx) => tx.db.selectFrom('greeted').select('name').execute());

// A schedule of its own task, kept in the database, fired by the worker that runs the task.
const tick = defineTask<{ n: number }, number>({
  name: 'tick',
  validate(payload) {
    const { n } = payload as Partial<{ n: number }>;
    if (typeof n !== 'number') throw new Error('n must be a number');
    return { n };
  },
  async handler({ n }) {
    return n;
  },
});
const saved = await queue.schedule('ticker', tick, { n: 7 }, { every: '1s', catchUp: 'none' });
// @ts-expect-error: the payload of tick is { n: number }
await queue.schedule('bad', tick, { n: 'x' }, { every: '1s' }).catch(() => undefined);
// @ts-expect-error: a schedule has a period or a cron expression
await queue.schedule('bad', tick, { n: 1 }, { catchUp: 'all' }).catch(() => undefined);
const ticking = new AbortController();
const ticker = queue.worker({ tasks: [tick], concurrency: 1 });
const ticks: unknown[] = [];
ticker.on('succeeded', (event) => {
  ticks.push(event.result);
  if (ticks.length === 2) ticking.abort();
});
await ticker.run(ticking.signal);
const listed = (await queue.schedules()).map((schedule) => [schedule.name, schedule.cadence, schedule.last_job_state]);
await queue.unschedule('ticker');
const left = await queue.schedules();
await queue.close();
console.log(JSON.stringify({ one: one.id, many, unique: [once?.id, twice ?? null], refused, summary, results: events.map((event) => event.result).sort(), last: done?.state, greeted, greeting, notANumber, schedule: { name: saved.name, ticks, listed, left: left.length } }));
`;

/** Results, steering, pauses, retention and an application's own test, as a user's code calls them. */
const STEERING = `
import { createTestQueue, defineTask, JobStateError, openQueue, RetryAfterError, type Job } from 'usergen';

const double = defineTask<{ n: number }, number>({
  name: 'double',
  validate(payload) {
    const { n } = payload as Partial<{ n: number }>;
    if (typeof n !== 'number') throw new Error('n must be a number');
    return { n };
  },
  retention: { succeeded: '7d' },
  maxAttempts: 2,
  backoff: { baseMs: 10, maxMs: 10 },
  async handler({ n }, context) {
    if (n < 0 && context.attempt === 1) throw new RetryAfterError(10);
    if (n === 13) throw new Error('unlucky');
    return n * 2;
  },
});

const limited = defineTask<{ customer: string }, string>({
  name: 'limited',
  validate: (payload) => payload as { customer: string },
  limits: { concurrency: 1, rate: '10/1s', group: { key: (payload) => payload.customer, concurrency: 1 } },
  async handler({ customer }) {
    return customer;
  },
});
// @ts-expect-error: a group key is a string
defineTask<{ n: number }, number>({ name: 'bad', validate: (p) => p as { n: number }, limits: { group: { key: (payload) => payload.n, concurrency: 1 } }, handler: async ({ n }) => n });

const queue = await openQueue({ db: 'steer.db' });
const stop = new AbortController();
const running = queue.worker({ tasks: [double, limited], concurrency: 2 }).run(stop.signal);
const customer: string = await queue.run(limited, { customer: 'ada' }, { timeoutMs: 10_000 });
const limits = await queue.setLimits(limited, { concurrency: 2, rate: null });
const four: number = await queue.run(double, { n: 2 }, { timeoutMs: 10_000 });
const job: Job<number> = await queue.enqueue(double, { n: -1 });
const retriedAfter = await queue.result(job, { timeoutMs: 10_000 });
// @ts-expect-error: double's result is a number, not a string
const notText: string = await queue.result(job);
const unlucky = await queue.run(double, { n: 13 }).catch((error: Error) => error.name);
await queue.pause(double);
const paused = await queue.enqueue(double, { n: 5 });
const cancelled = await queue.cancel(paused.id);
const refused = await queue.cancel(paused.id).catch((error: unknown) => (error instanceof JobStateError ? error.state : 'other'));
await queue.resume('double');
const retried = await queue.retry(paused.id);
const ten = await queue.result(retried);
const failed = await queue.jobs({ state: 'failed', task: 'double', payload: { n: 13 } });
// @ts-expect-error: a payload filter matches strings, numbers and booleans only
await queue.jobs({ payload: { n: [13] } }).catch(() => undefined);
const bulk = await queue.retryJobs({ state: 'failed', task: 'double' });
const retention = await queue.setRetention({ failed: '30d' });
stop.abort();
await running;
await queue.cancelJobs({ task: 'double' });
const status = await queue.status();
await queue.close();

// A test of the application's own task, with no worker process.
const testQueue = await createTestQueue();
await testQueue.enqueue(double, { n: 21 });
const report = await testQueue.runUntilIdle({ tasks: [double] });
await testQueue.close();

console.log(JSON.stringify({ customer, limits, four, retriedAfter, notText, unlucky, was: cancelled.was, refused, ten, failed: failed.length, bulk, retention, counts: status.counts, test: report.succeeded.map((event) => event.result) }));
`;

const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const TSC_FLAGS = ['--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--outDir', 'out'];

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/**
 * Each @ts-expect-error line of `program` is what the compiler must refuse: without it, the program
 * fails to compile. One copy of the program per line, without that line, all compiled by one tsc run.
 */
function expectEachErrorRefused(project: string, program: string): void {
  const lines = program.split('\n');
  const expected = [...lines.entries()].filter(([, line]) => line.trimStart().startsWith('// @ts-expect-error'));
  const copies = expected.map(([i]) => {
    const name = `without-${i}.ts`;
    fs.writeFileSync(path.join(project, name), lines.map((text, j) => (j === i ? '' : text)).join('\n'));
    return name;
  });
  const compiled = spawnSync(process.execPath, [TSC, ...TSC_FLAGS, '--noEmit', ...copies], { cwd: project, encoding: 'utf8' });
  for (const [n, [, line]] of expected.entries()) expect(compiled.stdout, line).toMatch(new RegExp(`^${copies[n]}\\(\\d+,\\d+\\): error TS`, 'm'));
}

/** A new project with the packed usergen in node_modules; removed when the test passes. */
function projectWithPackedUsergen(): string {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'usergen-project-'));
  onTestFinished(({ task }) => {
    if (task.result?.state === 'fail') console.error(`project kept in ${project}`);
    else fs.rmSync(project, { recursive: true, force: true });
  });
  const tarball = run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', project], ROOT).trim().split('\n').at(-1)!;
  const modules = path.join(project, 'node_modules');
  fs.mkdirSync(path.join(modules, 'usergen'), { recursive: true });
  execFileSync('tar', ['-xzf', path.join(project, tarball), '-C', path.join(modules, 'usergen'), '--strip-components=1']);
  const { dependencies } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const name of [...Object.keys(dependencies), '@types/node', '@types/better-sqlite3']) {
    const target = path.join(modules, name);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules', name), target);
  }
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  return project;
}

describe('usergen as a library', () => {
  it('a TypeScript program importing only from usergen compiles under --strict, enqueues (one, many, unique, in its own transaction), runs a worker in-process, and schedules its own task', () => {
    const project = projectWithPackedUsergen();
    fs.writeFileSync(path.join(project, 'program.ts'), PROGRAM);
    run(process.execPath, [TSC, ...TSC_FLAGS, 'program.ts'], project);
    const output = JSON.parse(run(process.execPath, ['out/program.js'], project)) as Record<string, unknown>;

    expect(output).toEqual({
      one: 1,
      many: [2, 3],
      unique: [4, null],
      refused: 'changed my mind',
      summary: { succeeded: 5, failed: 0, retried: 0, released: 0 },
      results: ['hello, ada', 'hello, alan', 'hello, grace', 'hello, linus', 'hello, once'],
      last: 'succeeded',
      greeted: [{ name: 'linus' }],
      greeting: 'hello, ada',
      notANumber: 'hello, ada',
      schedule: { name: 'ticker', ticks: [7, 7], listed: [['ticker', 'every 1s', 'succeeded']], left: 0 },
    });

    expectEachErrorRefused(project, PROGRAM);
  });

  it('a program awaits results, steers, pauses, sets retention and limits and tests its own task with createTestQueue, typed, under --strict', () => {
    const project = projectWithPackedUsergen();
    fs.writeFileSync(path.join(project, 'program.ts'), STEERING);
    run(process.execPath, [TSC, ...TSC_FLAGS, 'program.ts'], project);
    const output = JSON.parse(run(process.execPath, ['out/program.js'], project)) as Record<string, unknown>;
    expect(output).toEqual({
      customer: 'ada',
      limits: { task: 'limited', limits: { concurrency: 2 }, label: '2 at once' },
      four: 4,
      retriedAfter: -2,
      notText: -2,
      unlucky: 'JobFailedError',
      was: 'queued',
      refused: 'cancelled',
      ten: 10,
      failed: 1,
      bulk: { retried: 1 },
      retention: { succeeded: null, failed: 2_592_000_000, cancelled: null },
      counts: expect.objectContaining({ queued: 0, running: 0 }),
      test: [42],
    });
    expectEachErrorRefused(project, STEERING);
  });

  it("README's library example compiles under --strict and runs as written", () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Your own tasks: usergen as a library'));
    const example = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(example).toContain("from 'usergen'");
    const project = projectWithPackedUsergen();
    fs.writeFileSync(path.join(project, 'program.ts'), example!);
    run(process.execPath, [TSC, ...TSC_FLAGS, 'program.ts'], project);
    run(process.execPath, ['out/program.js'], project);

    const db = new BetterSqlite3(path.join(project, 'app.db'), { readonly: true });
    try {
      expect(db.prepare('select state, count(*) as n from jobs group by state').all()).toEqual([{ state: 'succeeded', n: 5 }]);
      expect(db.prepare('select name from greeted').pluck().all()).toEqual(['linus']);
    } finally {
      db.close();
    }
  });

  it("importing usergen loads none of the command line's packages", () => {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = fs.readFileSync(file, 'utf8');
      // Static imports and re-exports only: a dynamic import() is loaded only when called.
      for (const [, specifier] of source.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gm)) {
        if (specifier!.startsWith('.')) visit(path.resolve(path.dirname(file), specifier!));
        else packages.add(specifier!.startsWith('@') ? specifier!.split('/').slice(0, 2).join('/') : specifier!.split('/')[0]!);
      }
    };
    visit(path.join(ROOT, 'dist', 'index.js'));
    expect(seen.size).toBeGreaterThan(5);
    for (const cliPackage of ['commander', 'ora', 'cli-table3', '@faker-js/faker']) expect(packages).not.toContain(cliPackage);
  });
});
