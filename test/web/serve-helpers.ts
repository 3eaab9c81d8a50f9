import fs from 'node:fs';
import pg from 'pg';
import { expect, onTestFinished } from 'vitest';
import { isPostgresUrl } from '../../src/store/postgres/location.js';
import { openStore } from '../../src/store/open.js';
import type { JobState } from '../../src/store/schema.js';
import type { JobStore } from '../../src/store/store.js';
import { engineCli, passwordForms, schemaObjects } from '../cli/engine-cli.js';
import { startCli, stopCli, waitFor, type CliOptions, type CliProcess, type CliResult } from '../helpers.js';
import { postgresUrl } from '../postgres.js';

export interface Served {
  /** `http://host:port` without a trailing slash. */
  url: string;
  cli: CliProcess;
  stop(): Promise<CliResult>;
}

/** `usergen serve --port 0 ...args` as a child process, once it listens. */
export async function startServe(args: string[], options: CliOptions = {}): Promise<Served> {
  return listening(startCli(['serve', '--port', '0', ...args], options));
}

async function listening(cli: CliProcess): Promise<Served> {
  const line = await waitFor(
    () => /Serving (http:\/\/\S+?)\/ on /.exec(cli.stdout())?.[1] ?? (cli.child.exitCode !== null ? 'exited' : undefined),
    'the server to listen',
  );
  if (line === 'exited') throw new Error(`serve exited ${cli.child.exitCode}: ${cli.stderr()}`);
  return { url: line, cli, stop: () => stopCli(cli) };
}

/** A response with its body read. */
export interface Page {
  status: number;
  headers: Headers;
  text: string;
}

/** One server-sent event. */
export interface ServerEvent {
  event: string;
  data: string;
}

export interface EventStream {
  /** The next event; undefined once the server has ended the stream. */
  next(): Promise<ServerEvent | undefined>;
  close(): void;
}

/**
 * A server on one database of either engine. On PostgreSQL its URL carries the server's password:
 * every response read through here, and everything the process printed (checked when it exits),
 * fails the test if it holds it.
 */
export interface ServedOn extends Served {
  db: string;
  /** GET `path` (or a whole URL), not following a redirect. */
  page(path: string, init?: RequestInit): Promise<Page>;
  /** A form POST to `path`, not following the redirect. */
  post(path: string, fields: Record<string, string>, headers?: Record<string, string>): Promise<Page>;
  /** The CSRF token the forms of the page at `path` carry. */
  csrf(path: string): Promise<string>;
  /** Opens the live stream at `path` (`/events?...`); closed when the test ends. */
  events(path: string): Promise<EventStream>;
}

/** `usergen serve --port 0 ...args --db <db>`, once it listens. */
export async function serveOn(db: string, args: string[], options: CliOptions = {}): Promise<ServedOn> {
  const served = await listening(engineCli(db).start(['serve', '--port', '0', ...args], options));
  const secrets = passwordForms(db);
  const checked = (what: string, text: string) => {
    for (const secret of secrets) expect(text.includes(secret), `${what} holds the database password`).toBe(false);
  };
  const read = async (path: string, init: RequestInit): Promise<Page> => {
    const response = await fetch(path.startsWith('/') ? served.url + path : path, { redirect: 'manual', ...init });
    const page = { status: response.status, headers: response.headers, text: await response.text() };
    checked(`${init.method ?? 'GET'} ${path}`, [...page.headers].join('\n') + page.text);
    return page;
  };
  return {
    ...served,
    db,
    page: (path, init = {}) => read(path, init),
    post: (path, fields, headers = {}) => read(path, formPost(fields, headers)),
    async csrf(path) {
      return csrfIn((await read(path, {})).text, path);
    },
    async events(path) {
      const stream = await openEvents(served.url + path, (text) => checked(`GET ${path}`, text));
      onTestFinished(() => stream.close());
      return stream;
    },
  };
}

async function openEvents(url: string, check: (text: string) => void): Promise<EventStream> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  let seen = '';
  let ended = false;
  return {
    async next() {
      for (;;) {
        const end = buffered.indexOf('\n\n');
        if (end >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const fields = new Map(block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trimStart()]));
          return { event: fields.get('event') ?? 'message', data: fields.get('data') ?? '' };
        }
        if (ended) return undefined;
        const { value, done } = await reader.read();
        if (done) ended = true;
        else {
          // All of it so far: a password could be cut in two by a chunk's end.
          seen += value;
          check(seen);
          buffered += value;
        }
      }
    },
    close: () => controller.abort(),
  };
}

/** The CSRF token the forms of a page carry. */
export async function csrfOf(url: string, init: RequestInit = {}): Promise<string> {
  return csrfIn(await (await fetch(url, init)).text(), url);
}

function csrfIn(text: string, where: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(text)?.[1];
  if (token === undefined) throw new Error(`no CSRF token in ${where}`);
  return token;
}

/** A form POST, not following the redirect. */
export function post(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, formPost(fields, headers));
}

function formPost(fields: Record<string, string>, headers: Record<string, string>): RequestInit {
  return {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  };
}

/** The test's database through usergen's own store, on either engine (a missing one is refused, not made); closed when the test ends. */
export async function storeOf(db: string): Promise<JobStore> {
  const store = await openStore(db, { create: false });
  onTestFinished(() => store.close());
  return store;
}

/** How many jobs the table holds (in `state`, when given). */
export async function jobCount(store: JobStore, state?: JobState): Promise<number> {
  let query = store.db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n'));
  if (state !== undefined) query = query.where('state', '=', state);
  return Number((await query.executeTakeFirstOrThrow()).n);
}

/** Whether anything of usergen's is at `db`: an SQLite file, or a PostgreSQL schema of its tables. */
export async function databaseMade(db: string): Promise<boolean> {
  if (!isPostgresUrl(db)) return fs.existsSync(db);
  return (await schemaObjects(db)).schemas.includes('usergen');
}

/** Prometheus' text format, parsed: every sample as `name{labels}` -> value; throws on a line it is not. */
export function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|\+Inf|NaN)$/.exec(line);
    if (!match) throw new Error(`not Prometheus text: ${JSON.stringify(line)}`);
    samples.set(`${match[1]}${match[2] ?? ''}`, Number(match[3]));
  }
  return samples;
}

/** Drops the PostgreSQL database at `url` from under whoever is connected to it (their connections are ended). */
export async function dropPgDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const client = new pg.Client({ connectionString: postgresUrl() });
  await client.connect();
  try {
    await client.query(`drop database ${name} with (force)`);
  } finally {
    await client.end();
  }
}

/** `usergen generate <total> [flags]` on `db`, which must exit 0. */
export async function generate(db: string, total: number, ...flags: string[]): Promise<void> {
  const run = await engineCli(db).run(['generate', String(total), ...flags]);
  expect(run.code, run.stderr).toBe(0);
}
