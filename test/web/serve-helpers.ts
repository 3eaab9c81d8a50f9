import { startCli, stopCli, waitFor, type CliOptions, type CliProcess, type CliResult } from '../helpers.js';

export interface Served {
  /** `http://host:port` without a trailing slash. */
  url: string;
  cli: CliProcess;
  stop(): Promise<CliResult>;
}

/** `usergen serve --port 0 ...args` as a child process, once it listens. */
export async function startServe(args: string[], options: CliOptions = {}): Promise<Served> {
  const cli = startCli(['serve', '--port', '0', ...args], options);
  const line = await waitFor(
    () => /Serving (http:\/\/\S+?)\/ on /.exec(cli.stdout())?.[1] ?? (cli.child.exitCode !== null ? 'exited' : undefined),
    'the server to listen',
  );
  if (line === 'exited') throw new Error(`serve exited ${cli.child.exitCode}: ${cli.stderr()}`);
  return { url: line, cli, stop: () => stopCli(cli) };
}

/** The CSRF token the forms of a page carry. */
export async function csrfOf(url: string, init: RequestInit = {}): Promise<string> {
  const text = await (await fetch(url, init)).text();
  const token = /name="_csrf" value="([^"]+)"/.exec(text)?.[1];
  if (token === undefined) throw new Error(`no CSRF token in ${url}`);
  return token;
}

/** A form POST, not following the redirect. */
export function post(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
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
