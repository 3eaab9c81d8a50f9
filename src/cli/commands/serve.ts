import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import type { Command } from 'commander';
import { UsageError, UserError } from '../../errors.js';
import { DEFAULT_GRACE_MS, DEFAULT_LEASE_MS, DEFAULT_POLL_MS } from '../../queue/worker-types.js';
import { DEFAULT_HASH_ITERATIONS } from '../../tasks/password.js';
import { checkGlobalOptions, openCommandDatabase, type CliContext } from '../context.js';
import { createLogger } from '../log.js';
import { printLine } from '../output.js';
import { parseHashIterations, parseInteger } from '../parse.js';

interface Flags {
  port: string;
  host: string;
  worker?: boolean;
  concurrency?: string;
  auth?: string;
  readOnly?: boolean;
  hashIterations?: string;
}

export function register(program: Command, context: CliContext): void {
  program
    .command('serve')
    .description('serve the pages (/generate, /users), the job dashboard (/jobs, /backups), /metrics and /healthz')
    .option('--port <n>', 'the port to listen on (0: any free one)', '8000')
    .option('--host <address>', 'the address to listen on; any but loopback needs --auth', '127.0.0.1')
    .option('--worker', 'also work the queue in this process (the whole original setup in one process)')
    .option('--concurrency <n>', `with --worker, jobs run at once (default: CPU count, ${os.availableParallelism()} here)`)
    .option('--auth <user:password>', 'ask every request for these credentials; $USERGEN_AUTH keeps them out of `ps`')
    .option('--read-only', 'hide every button and refuse every POST')
    .option(
      '--hash-iterations <n>',
      `PBKDF2 iterations of the users the form makes (default: $USERGEN_HASH_ITERATIONS, else ${DEFAULT_HASH_ITERATIONS})`,
    )
    .addHelpText(
      'after',
      '\nSIGINT/SIGTERM: stop serving, let the worker (--worker) finish its jobs within 30s, exit 0.\nPasswords never appear in a page, a response or the log.',
    )
    .action(async (flags: Flags, command: Command) => {
      const port = parseInteger(flags.port, '--port', 0, 65_535);
      const concurrency = flags.concurrency === undefined ? os.availableParallelism() : parseInteger(flags.concurrency, '--concurrency', 1, 1000);
      if (flags.concurrency !== undefined && !flags.worker) throw new UsageError('--concurrency needs --worker');
      const { isLoopback, parseCredentials } = await import('../../web/security.js');
      const authText = flags.auth ?? process.env.USERGEN_AUTH;
      const credentials = authText === undefined ? undefined : parseCredentials(authText);
      if (authText !== undefined && credentials === undefined) {
        throw new UsageError(`${flags.auth === undefined ? '$USERGEN_AUTH' : '--auth'} must be user:password (neither empty)`);
      }
      if (!isLoopback(flags.host) && credentials === undefined) {
        throw new UsageError(`serving on ${flags.host} (not loopback) needs --auth user:password or $USERGEN_AUTH`);
      }
      checkGlobalOptions(command);
      const iterations = parseHashIterations(flags.hashIterations);
      const signal = context.shutdownSignal();
      await serve({
        command,
        port,
        iterations,
        host: flags.host,
        credentials,
        readOnly: flags.readOnly ?? false,
        worker: flags.worker ? concurrency : 0,
        signal,
      });
    });
}

interface ServeOptions {
  command: Command;
  port: number;
  host: string;
  credentials: import('../../web/security.js').Credentials | undefined;
  readOnly: boolean;
  iterations: number;
  /** Concurrency of the in-process worker; 0: none. */
  worker: number;
  signal: AbortSignal;
}

async function serve(options: ServeOptions): Promise<void> {
  const [{ serve: listen }, { createWebApp }] = await Promise.all([import('@hono/node-server'), import('../../web/app.js')]);
  // The pages read through a connection of their own: a worker's long completion does not hold them up.
  const store = await openCommandDatabase(options.command, { create: !options.readOnly });
  try {
    const app = createWebApp({
      store,
      readOnly: options.readOnly,
      credentials: options.credentials,
      shuttingDown: options.signal,
      hashIterations: options.iterations,
    });
    // The worker first: pages served before it is recorded alive would say no worker runs (a
    // backup queued then is told to wait for one). It stops with the server, or if it cannot listen.
    const stopWorker = new AbortController();
    options.signal.addEventListener('abort', () => stopWorker.abort(options.signal.reason), { once: true });
    let running!: () => void;
    const ready = new Promise<void>((resolve) => (running = resolve));
    const worked = options.worker ? workHere(options, stopWorker.signal, running) : undefined;
    if (worked) await Promise.race([ready, worked]);
    const server = listen({ fetch: app.fetch, port: options.port, hostname: options.host });
    try {
      await Promise.race([
        once(server, 'listening'),
        once(server, 'error').then(([error]) => Promise.reject(listenError(error as NodeJS.ErrnoException, options))),
      ]);
    } catch (error) {
      stopWorker.abort(error);
      await worked?.catch(() => {});
      throw error;
    }
    const { port } = server.address() as AddressInfo;
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    printLine(
      `Serving http://${host}:${port}/ on ${store.location}${options.worker ? `, with a worker (${options.worker} at once)` : ''}${options.readOnly ? ', read-only' : ''}`,
    );
    try {
      // A worker that stops on its own (a damaged database) stops the server too.
      const stopped = options.signal.aborted ? Promise.resolve() : once(options.signal, 'abort');
      await (worked ? Promise.race([stopped, worked]) : stopped);
    } finally {
      // Stop serving first: the worker may take its grace period to finish. Live pages keep their
      // event streams open: end them, or close() waits for them forever.
      server.close();
      if ('closeAllConnections' in server) server.closeAllConnections();
      stopWorker.abort();
    }
    await worked;
  } finally {
    await store.close().catch(() => {});
  }
}

/** `--worker`: the worker command's run, on a store of its own, until the shutdown signal. */
async function workHere(options: ServeOptions, signal: AbortSignal, onRunning: () => void): Promise<void> {
  const { runWorker, workerTasks } = await import('../../operations/worker.js');
  const tasks = await workerTasks([]);
  const store = await openCommandDatabase(options.command, { create: true });
  const logger = createLogger('info');
  try {
    await runWorker(store, {
      tasks,
      concurrency: options.worker,
      drain: false,
      pollMs: DEFAULT_POLL_MS,
      graceMs: DEFAULT_GRACE_MS,
      leaseMs: DEFAULT_LEASE_MS,
      logger,
      signal,
      onRunning,
    });
  } finally {
    logger.close();
    await store.close().catch(() => {});
  }
}

function listenError(error: NodeJS.ErrnoException, options: ServeOptions): Error {
  if (error.code === 'EADDRINUSE')
    return new UserError(`port ${options.port} on ${options.host} is in use (another server?): pick another with --port`);
  if (error.code === 'EADDRNOTAVAIL') return new UserError(`cannot listen on ${options.host}: no such address on this machine`);
  if (error.code === 'EACCES') return new UserError(`not allowed to listen on port ${options.port} (ports below 1024 need privileges)`);
  return new UserError(`cannot listen on ${options.host}:${options.port}: ${error.message}`);
}
