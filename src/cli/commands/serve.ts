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

const LOOPBACK: readonly string[] = ['127.0.0.1', '::1', 'localhost'];

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
    .option('--hash-iterations <n>', `PBKDF2 iterations of the users the form makes (default: $USERGEN_HASH_ITERATIONS, else ${DEFAULT_HASH_ITERATIONS})`)
    .addHelpText(
      'after',
      '\nSIGINT/SIGTERM: stop serving, let the worker (--worker) finish its jobs within 30s, exit 0.\nPasswords never appear in a page, a response or the log.',
    )
    .action(async (flags: Flags, command: Command) => {
      const port = parseInteger(flags.port, '--port', 0, 65_535);
      const concurrency = flags.concurrency === undefined ? os.availableParallelism() : parseInteger(flags.concurrency, '--concurrency', 1, 1000);
      if (flags.concurrency !== undefined && !flags.worker) throw new UsageError('--concurrency needs --worker');
      const { parseCredentials } = await import('../../web/security.js');
      const authText = flags.auth ?? process.env.USERGEN_AUTH;
      const credentials = authText === undefined ? undefined : parseCredentials(authText);
      if (authText !== undefined && credentials === undefined) {
        throw new UsageError(`${flags.auth === undefined ? '$USERGEN_AUTH' : '--auth'} must be user:password (neither empty)`);
      }
      if (!LOOPBACK.includes(flags.host) && credentials === undefined) {
        throw new UsageError(`serving on ${flags.host} (not loopback) needs --auth user:password or $USERGEN_AUTH`);
      }
      checkGlobalOptions(command);
      const iterations = parseHashIterations(flags.hashIterations);
      const signal = context.shutdownSignal();
      await serve({ command, port, iterations, host: flags.host, credentials, readOnly: flags.readOnly ?? false, worker: flags.worker ? concurrency : 0, signal });
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
    const app = createWebApp({ store, readOnly: options.readOnly, credentials: options.credentials, shuttingDown: options.signal, hashIterations: options.iterations });
    const server = listen({ fetch: app.fetch, port: options.port, hostname: options.host });
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(listenError(error as NodeJS.ErrnoException, options)))]);
    const { port } = server.address() as AddressInfo;
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    printLine(`Serving http://${host}:${port}/ on ${store.location}${options.worker ? `, with a worker (${options.worker} at once)` : ''}${options.readOnly ? ', read-only' : ''}`);
    const worked = options.worker ? workHere(options) : Promise.resolve();
    if (!options.signal.aborted) await once(options.signal, 'abort');
    // Stop serving first: the worker may take its grace period to finish. Live pages keep their
    // event streams open: end them, or close() waits for them forever.
    server.close();
    if ('closeAllConnections' in server) server.closeAllConnections();
    await worked;
  } finally {
    await store.close().catch(() => {});
  }
}

/** `--worker`: the worker command's run, on a store of its own, until the shutdown signal. */
async function workHere(options: ServeOptions): Promise<void> {
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
      signal: options.signal,
    });
  } finally {
    logger.close();
    await store.close().catch(() => {});
  }
}

function listenError(error: NodeJS.ErrnoException, options: ServeOptions): Error {
  if (error.code === 'EADDRINUSE') return new UserError(`port ${options.port} on ${options.host} is in use (another server?): pick another with --port`);
  if (error.code === 'EADDRNOTAVAIL') return new UserError(`cannot listen on ${options.host}: no such address on this machine`);
  if (error.code === 'EACCES') return new UserError(`not allowed to listen on port ${options.port} (ports below 1024 need privileges)`);
  return new UserError(`cannot listen on ${options.host}:${options.port}: ${error.message}`);
}
