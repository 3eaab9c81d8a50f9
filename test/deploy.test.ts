import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  execWords,
  optionValue,
  parseDockerfile,
  parseEnvironmentFile,
  parseUnit,
  parseYaml,
  systemdSeconds,
  unitEnvironment,
  unitValue,
  usergenSeconds,
  type Instruction,
  type Unit,
  type Yaml,
} from './deploy-files.js';
import { count, inspectDb, ROOT, runCli, startCli, tempDb, waitFor, type CliProcess } from './helpers.js';

// deploy/: the systemd units and the container files. No systemd or Docker engine runs here, so
// the files are read for what they promise, and the commands they run are run as they would be,
// against a database in a temporary folder in place of /var/lib/usergen or the volume /data.

const DEPLOY = path.join(ROOT, 'deploy');
const SERVICES = ['worker', 'schedule', 'serve'] as const;
type Service = (typeof SERVICES)[number];

function read(file: string): string {
  return fs.readFileSync(path.join(DEPLOY, file), 'utf8');
}

function unitOf(service: Service): Unit {
  return parseUnit(read(`systemd/usergen-${service}.service`));
}

/** The unit's value of a [Service] key, which must be there. */
function serviceValue(unit: Unit, key: string): string {
  const value = unitValue(unit, 'Service', key);
  if (value === undefined) throw new Error(`no ${key}=`);
  return value;
}

/** ExecStart's words, with the unit's environment (and any overrides, as an EnvironmentFile= gives). */
function execStart(unit: Unit, overrides: Record<string, string> = {}): string[] {
  return execWords(serviceValue(unit, 'ExecStart'), { ...unitEnvironment(unit), ...overrides });
}

/** The worker's --grace in seconds: it must be given, so that the stop timeouts can be checked against it. */
function workerGrace(args: string[]): number {
  const grace = optionValue(args, '--grace');
  if (grace === undefined) throw new Error(`the worker runs without an explicit --grace: ${args.join(' ')}`);
  return usergenSeconds(grace);
}

/** `text` with the folder `from` (a path prefix) moved to `to`. */
function relocate(text: string, from: string, to: string): string {
  return text === from || text.startsWith(`${from}/`) ? to + text.slice(from.length) : text;
}

function relocateAll(values: Record<string, string>, from: string, to: string): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, relocate(value, from, to)]));
}

/** Starts `usergen <args>` as the built CLI, as the unit or container would. */
function startUsergen(words: string[], env: Record<string, string | undefined>): CliProcess {
  expect(words[0], 'the command runs usergen').toBe('usergen');
  return startCli(words.slice(1), { env });
}

/** Waits for `condition` while `handle` runs; fails at once, with its stderr, if it exits first. */
async function waitWhileRunning<T>(handle: CliProcess, condition: () => T, what: string): Promise<NonNullable<T>> {
  let exited = false;
  void handle.exited.then(() => (exited = true));
  return waitFor(() => {
    const value = condition();
    if (value) return value;
    if (exited) throw new Error(`${what}: the process exited first; stderr:\n${handle.stderr()}`);
    return undefined;
  }, what);
}

function waitForOutput(handle: CliProcess, pattern: RegExp, what: string): Promise<RegExpMatchArray> {
  return waitWhileRunning(handle, () => handle.stdout().match(pattern), what);
}

/** SIGTERM, as systemd and Docker send it: the process must exit 0 before it would be SIGKILLed. */
async function stopWithin(handle: CliProcess, seconds: number, what: string): Promise<void> {
  handle.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), seconds * 1000)));
  const exit = await Promise.race([handle.exited, late]);
  clearTimeout(timer);
  if (exit === 'late') throw new Error(`${what} still ran ${seconds}s after SIGTERM: it would be SIGKILLed`);
  expect(exit.code, `${what} after SIGTERM; stderr:\n${exit.stderr}`).toBe(0);
}

/**
 * The worker and the scheduler on one database, as deployed: the worker, started first, creates
 * the database (the scheduler refuses a missing one: it would exit 1 and be restarted), a job
 * enqueued with `generate` is worked by the worker, the scheduler makes its catch-up backup (none
 * exists yet) beside the database, and both stop with exit 0 on SIGTERM within their stop timeouts.
 */
async function workAndStop(
  commands: Record<'worker' | 'schedule', { words: string[]; env: Record<string, string>; stopSeconds: number }>,
  db: string,
): Promise<void> {
  const worker = startUsergen(commands.worker.words, commands.worker.env);
  await waitWhileRunning(worker, () => fs.existsSync(db), 'the worker to create the database');
  const inspect = inspectDb(db);
  const registered = () => {
    try {
      return count(inspect, 'select count(*) from workers') === 1;
    } catch (error) {
      if (/no such table/.test(String(error))) return false; // not migrated yet
      throw error;
    }
  };
  await waitWhileRunning(worker, registered, 'the worker to register');
  const schedule = startUsergen(commands.schedule.words, commands.schedule.env);
  await waitForOutput(schedule, /^Backup written: .*usergen-[\dTZ-]+\.db/m, 'the scheduler to write its catch-up backup');
  const generate = await runCli(['generate', '50', '--db', db]);
  expect(generate.code, generate.stderr).toBe(0);
  const id = /Queued job (\d+)/.exec(generate.stdout)?.[1];
  await waitWhileRunning(worker, () => new RegExp(`Task generate_users\\[${id}\\] succeeded`).test(worker.stderr()), 'the worker to run the job');
  expect(count(inspect, 'select count(*) from users')).toBe(50);
  const backups = fs.readdirSync(path.join(path.dirname(db), 'backups')).filter((name) => /^usergen-.*\.db$/.test(name));
  expect(backups, 'a backup beside the database').not.toEqual([]);
  await Promise.all([
    stopWithin(worker, commands.worker.stopSeconds, 'the worker'),
    stopWithin(schedule, commands.schedule.stopSeconds, 'the scheduler'),
  ]);
}

describe('the systemd units', () => {
  const DATABASE = '/var/lib/usergen/usergen.db';

  it("run their usergen command on the database USERGEN_DB names, as the usergen user, restart always, and wait longer than the worker's grace to stop", () => {
    const grace = workerGrace(execStart(unitOf('worker')));
    for (const service of SERVICES) {
      const unit = unitOf(service);
      const args = execStart(unit);
      expect(args.slice(0, 2), service).toEqual(['usergen', service]);
      expect(args, `${service}: the database comes from USERGEN_DB`).not.toContain('--db');
      expect(unitEnvironment(unit).USERGEN_DB, service).toBe(DATABASE);
      expect(serviceValue(unit, 'User'), service).toBe('usergen');
      expect(serviceValue(unit, 'Restart'), service).toBe('always');
      expect(serviceValue(unit, 'RestartPreventExitStatus').split(/\s+/), `${service}: a usage error is not restarted`).toContain('2');
      expect(serviceValue(unit, 'KillSignal'), service).toBe('SIGTERM');
      expect(systemdSeconds(serviceValue(unit, 'TimeoutStopSec')), service).toBeGreaterThan(grace);
      // The database's folder is writable (SQLite creates -wal and -shm beside the file), and
      // nothing else is.
      expect(serviceValue(unit, 'ProtectSystem'), service).toBe('strict');
      expect(`/var/lib/${serviceValue(unit, 'StateDirectory')}`, service).toBe(path.dirname(DATABASE));
      expect(serviceValue(unit, 'NoNewPrivileges'), service).toBe('yes');
      expect(serviceValue(unit, 'PrivateTmp'), service).toBe('yes');
      // The wake file lives in /dev/shm and must be one for the three services.
      const settings = [...unit.get('Service')!.entries()].flatMap(([key, values]) => values.map((value) => `${key}=${value}`));
      expect(
        settings.filter((setting) => setting.includes('/dev/shm') || /^(PrivatePIDs|PrivateIPC|MemoryDenyWriteExecute)=yes/.test(setting)),
        service,
      ).toEqual([]);
      expect(unitValue(unit, 'Install', 'WantedBy'), service).toBe('multi-user.target');
    }
  });

  it('schedule backs up every hour beside the database and makes the backups itself; serve binds loopback unless the environment file sets auth', () => {
    const schedule = execStart(unitOf('schedule'));
    expect(schedule.slice(1, 3)).toEqual(['schedule', 'backup']);
    expect(optionValue(schedule, '--every')).toBe('1h');
    expect(schedule).not.toContain('--enqueue-only');
    expect(schedule, 'backups/ beside the database, inside the writable folder').not.toContain('--dir');
    // The worker creates the database on its first start; the scheduler refuses a missing one.
    expect(unitValue(unitOf('schedule'), 'Unit', 'After')?.split(/\s+/)).toContain('usergen-worker.service');

    const serve = unitOf('serve');
    expect(optionValue(execStart(serve), '--host')).toBe('127.0.0.1');
    expect(serviceValue(serve, 'EnvironmentFile'), 'optional: a missing file leaves the defaults').toMatch(/^-\/etc\/usergen\//);
    // The example installs as is without changing anything: every setting in it is commented out.
    const example = read('systemd/serve.env.example');
    expect(parseEnvironmentFile(example)).toEqual({});
    const offered = parseEnvironmentFile(example.replace(/^#(USERGEN_\w+=)/gm, '$1'));
    expect(Object.keys(offered).sort()).toEqual(['USERGEN_AUTH', 'USERGEN_HOST', 'USERGEN_PORT']);
    expect(optionValue(execStart(serve, offered), '--host')).toBe(offered.USERGEN_HOST);
    expect(optionValue(execStart(serve, offered), '--port')).toBe(offered.USERGEN_PORT);
  });

  it('worker and schedule, run as their units run them, work a generate job and a backup on one database and exit 0 on SIGTERM', async () => {
    const { dir, db } = tempDb();
    const as = (service: 'worker' | 'schedule') => {
      const unit = unitOf(service);
      const env = relocateAll(unitEnvironment(unit), path.dirname(DATABASE), dir);
      return {
        words: execStart(unit).map((word) => relocate(word, path.dirname(DATABASE), dir)),
        env,
        stopSeconds: systemdSeconds(serviceValue(unit, 'TimeoutStopSec')),
      };
    };
    expect(as('worker').env.USERGEN_DB).toBe(db);
    await workAndStop({ worker: as('worker'), schedule: as('schedule') }, db);
  });

  it('serve, run as its unit runs it: loopback by default, another address only with USERGEN_AUTH from the environment file, exit 0 on SIGTERM', async () => {
    const { dir } = tempDb();
    const unit = unitOf('serve');
    const stopSeconds = systemdSeconds(serviceValue(unit, 'TimeoutStopSec'));
    // Not the caller's USERGEN_AUTH: only the unit's environment and its file's.
    const envOf = (file: Record<string, string>) => ({
      USERGEN_AUTH: undefined,
      ...relocateAll(unitEnvironment(unit), path.dirname(DATABASE), dir),
      ...file,
    });
    // Port 0: any free one (serve prints it). 127.0.0.2 stands for a public address: not loopback to serve.
    const start = (file: Record<string, string>) =>
      startUsergen(execStart(unit, { USERGEN_PORT: '0', ...file }), envOf({ USERGEN_PORT: '0', ...file }));

    const local = start({});
    const [, url] = await waitForOutput(local, /Serving (http:\/\/127\.0\.0\.1:\d+\/)/, 'serve to listen on loopback');
    expect((await fetch(new URL('healthz', url))).status).toBe(200);
    await stopWithin(local, stopSeconds, 'serve');

    const open = await start({ USERGEN_HOST: '127.0.0.2' }).exited;
    expect(open.code, 'a usage error, which RestartPreventExitStatus= keeps from restarting').toBe(2);
    expect(open.stderr).toMatch(/--auth|USERGEN_AUTH/);

    const authed = start({ USERGEN_HOST: '127.0.0.2', USERGEN_AUTH: 'admin:s3cret' });
    const [, authedUrl] = await waitForOutput(authed, /Serving (http:\/\/127\.0\.0\.2:\d+\/)/, 'serve to listen with auth');
    // /healthz answers without credentials (a health check sends none); the pages do not.
    expect((await fetch(new URL('healthz', authedUrl))).status).toBe(200);
    expect((await fetch(new URL('users', authedUrl))).status).toBe(401);
    const headers = { authorization: `Basic ${Buffer.from('admin:s3cret').toString('base64')}` };
    expect((await fetch(new URL('users', authedUrl), { headers })).status).toBe(200);
    await stopWithin(authed, stopSeconds, 'serve');
  });
});

describe('the container files', () => {
  const stages = parseDockerfile(read('Dockerfile'));
  const runtime = stages.at(-1)!;
  const last = (stage: Instruction[], name: string) => stage.filter((instruction) => instruction.name === name).at(-1)?.args;
  const env = Object.fromEntries(
    runtime.filter(({ name }) => name === 'ENV').flatMap(({ args }) => [...args.matchAll(/(\w+)=(\S+)/g)].map(([, key, value]) => [key!, value!])),
  );
  const compose = parseYaml(read('compose.yaml')) as { services: Record<Service, Record<string, Yaml>>; volumes: Record<string, Yaml> };

  it('the Dockerfile compiles in a build stage and runs as a non-root user with only production dependencies, the database on the volume /data', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages[0]!;
    expect(build[0]!.args).toMatch(/^node:20-bookworm(-slim)? AS build$/i);
    const buildRuns = build
      .filter(({ name }) => name === 'RUN')
      .map(({ args }) => args)
      .join('\n');
    for (const tool of ['python3', 'make', 'g++']) expect(buildRuns, `the build stage installs ${tool}`).toContain(` ${tool}`);
    expect(buildRuns).toMatch(/npm ci\b/);
    expect(buildRuns).toMatch(/npm run build/);
    expect(buildRuns, 'dev dependencies dropped').toMatch(/npm prune --omit=dev/);
    expect(runtime[0]!.args).toBe('node:20-bookworm-slim');
    const fromBuild = runtime.filter(({ name, args }) => name === 'COPY' && args.startsWith('--from=build')).map(({ args }) => args);
    for (const part of ['package.json', 'bin', 'dist', 'node_modules']) expect(fromBuild.join('\n'), part).toContain(`/${part} `);
    expect(last(runtime, 'USER')).toMatch(/^(?!root$|0$)\w+$/);
    expect(last(runtime, 'VOLUME')).toBe('/data');
    expect(path.posix.dirname(env.USERGEN_DB ?? '')).toBe('/data');
    expect(JSON.parse(last(runtime, 'ENTRYPOINT')!)).toEqual(['usergen']);
  });

  it('the Dockerfile copies files that exist and that its .dockerignore lets through', () => {
    const ignore = read('Dockerfile.dockerignore')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'));
    const allowed = ignore.filter((line) => line.startsWith('!')).map((line) => line.slice(1));
    expect(ignore[0], 'an allow list: everything else stays out of the build context').toBe('*');
    const sources = stages
      .flat()
      .filter(({ name, args }) => name === 'COPY' && !args.startsWith('--from'))
      .flatMap(({ args }) => args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(fs.existsSync(path.join(ROOT, source)), source).toBe(true);
      expect(allowed, source).toContain(source);
    }
  });

  it("compose runs worker, schedule and serve of that image on one volume at /data, waits longer than the worker's grace to stop, and serves only with USERGEN_AUTH", () => {
    const grace = workerGrace(compose.services.worker.command as string[]);
    expect(Object.keys(compose.services).sort()).toEqual([...SERVICES].sort());
    expect(Object.keys(compose.volumes)).toEqual(['data']);
    for (const service of SERVICES) {
      const spec = compose.services[service];
      expect((spec.command as string[])[0], service).toBe(service);
      expect(spec.command as string[], `${service}: the database comes from USERGEN_DB`).not.toContain('--db');
      expect(spec.build, service).toEqual({ context: '..', dockerfile: 'deploy/Dockerfile' });
      expect(spec.volumes, service).toEqual(['data:/data']);
      expect(systemdSeconds(spec.stop_grace_period as string), service).toBeGreaterThan(grace);
      expect(spec.restart, service).toMatch(/^(always|unless-stopped)$/);
      expect(spec.init, `${service}: an init forwards SIGTERM and reaps`).toBe(true);
    }
    expect(compose.services.schedule.depends_on, 'the worker creates the database').toEqual(['worker']);
    const serve = compose.services.serve;
    const args = serve.command as string[];
    expect(optionValue(args, '--host'), 'the published port reaches only a server on 0.0.0.0').toBe('0.0.0.0');
    expect(serve.ports).toEqual([`${optionValue(args, '--port')}:${optionValue(args, '--port')}`]);
    expect((serve.environment as Record<string, string>).USERGEN_AUTH, 'required: compose refuses to start without it').toMatch(
      /^\$\{USERGEN_AUTH:\?[^}]+\}$/,
    );
    expect(read('.gitignore').split('\n'), 'the .env holding USERGEN_AUTH is never committed').toContain('.env');
  });

  it('worker and schedule, run as compose runs them, work a generate job and a backup on one database and exit 0 on SIGTERM', async () => {
    const { dir, db } = tempDb();
    const as = (service: 'worker' | 'schedule') => ({
      words: ['usergen', ...(compose.services[service].command as string[]).map((word) => relocate(word, '/data', dir))],
      env: relocateAll(env, '/data', dir),
      stopSeconds: systemdSeconds(compose.services[service].stop_grace_period as string),
    });
    expect(as('worker').env.USERGEN_DB).toBe(db);
    await workAndStop({ worker: as('worker'), schedule: as('schedule') }, db);
  });
});

it('the npm package ships the systemd units, and not the container files (they build from a clone)', async () => {
  const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT });
  const files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((file) => file.path);
  const units = fs.readdirSync(path.join(DEPLOY, 'systemd')).map((name) => `deploy/systemd/${name}`);
  expect(
    units.filter((unit) => !files.includes(unit)),
    'units missing from the package',
  ).toEqual([]);
  expect(files.filter((file) => file.startsWith('deploy/') && !file.startsWith('deploy/systemd/'))).toEqual([]);
});
