import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { cancel, retry } from '../operations/jobs.js';
import { cancelJobs, retryJobs } from '../queue/steering.js';
import { pauseTask, resumeTask } from '../queue/pauses.js';
import { UsageError } from '../errors.js';
import { formatInteger } from '../format.js';
import { enqueueGeneration } from '../operations/generate.js';
import { JobNotFoundError, JobStateError } from '../queue/errors.js';
import { scheduleView } from './pages/schedules.js';
import { JOB_STATES, type JobState } from '../store/schema.js';
import type { JobStore } from '../store/store.js';
import { DEFAULT_HASH_ITERATIONS } from '../tasks/password.js';
import { SCRIPT, STYLESHEET } from './assets.js';
import { liveJobs } from './live.js';
import { metricsText } from './metrics.js';
import { backupsView, queueBackupView } from './pages/backups.js';
import { GENERATING, generateView, parseTotal } from './pages/generate.js';
import { filterQuery, jobsView, jobView } from './pages/jobs.js';
import { usersView } from './pages/users.js';
import { security, securityHeaders, type Credentials } from './security.js';
import { sharedStatus } from './shared-status.js';
import { databaseHealth } from '../operations/status.js';

export interface WebOptions {
  store: JobStore;
  /** Hide every button and refuse every POST. */
  readOnly?: boolean;
  /** Basic auth on every request. */
  credentials?: Credentials | undefined;
  /** PBKDF2 iterations of the users a generate form makes. */
  hashIterations?: number;
  /** Aborted when the server stops: live streams end. */
  shuttingDown?: AbortSignal;
}

const FLASH_COOKIE = 'usergen_flash';

/** The whole site on one store: the original setup's two pages, the dashboard, /metrics, /healthz. */
export function createWebApp(options: WebOptions): Hono {
  const { store } = options;
  const readOnly = options.readOnly ?? false;
  const shuttingDown = options.shuttingDown ?? new AbortController().signal;
  const { csrfToken: csrf, middleware, authorized } = security({ credentials: options.credentials, readOnly });
  const readStatus = sharedStatus(store);
  const app = new Hono();
  // The forms send a field or two: nothing needs more, and a body is read whole before the CSRF check.
  app.use(securityHeaders);
  app.use(bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.text('Refused: the request body is too large.\n', 413) }));
  app.use(middleware);
  app.use(async (c, next) => {
    await next();
    if (c.req.method === 'POST') readStatus.forget();
  });

  app.get('/', (c) => c.redirect('/users'));
  app.get('/static/app.css', (c) => c.body(STYLESHEET, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'max-age=3600' }));
  app.get('/static/app.js', (c) => c.body(SCRIPT, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'max-age=3600' }));

  app.get('/generate', (c) => c.html(generateView({ value: '', csrf, readOnly })));
  app.post('/generate', async (c) => {
    const body = await c.req.parseBody();
    const value = typeof body.total === 'string' ? body.total : '';
    const parsed = parseTotal(value);
    if ('error' in parsed) return c.html(generateView({ value, error: parsed.error, csrf, readOnly }), 400);
    await enqueueGeneration(store, { total: parsed.total, iterations: options.hashIterations ?? DEFAULT_HASH_ITERATIONS, priority: 0, delayMs: 0 });
    return redirectWithFlash(c, '/users', GENERATING);
  });

  app.get('/users', async (c) => {
    const pageNumber = positiveInteger(c.req.query('page')) ?? 1;
    const order = c.req.query('order') === 'newest' ? 'newest' : 'oldest';
    return c.html(await usersView(store, { page: pageNumber, order, flash: takeFlash(c), readOnly }));
  });

  app.get('/jobs', async (c) => c.html(await jobsView(store, readStatus, { ...jobsFilter(c), flash: takeFlash(c), csrf, readOnly })));
  app.get('/jobs/:id', async (c) => {
    const id = positiveInteger(c.req.param('id'));
    if (id === undefined) return c.notFound();
    return c.html(await jobView(store, id, { flash: takeFlash(c), csrf, readOnly }));
  });
  // Every job of the list's filter (a state, maybe a task), in one transaction.
  app.post('/jobs/retry', async (c) => {
    const filter = bulkFilter(c);
    if (typeof filter === 'string') return redirectWithFlash(c, '/jobs', filter);
    const outcome = await retryJobs(store, filter).catch(refusalMessage);
    const message = typeof outcome === 'string' ? outcome : `Retried ${formatInteger(outcome.retried)} job(s): they are queued again.`;
    return redirectWithFlash(c, `/jobs?${filterQuery(filter)}`, message);
  });
  app.post('/jobs/cancel', async (c) => {
    const filter = bulkFilter(c);
    if (typeof filter === 'string') return redirectWithFlash(c, '/jobs', filter);
    const outcome = await cancelJobs(store, filter).catch(refusalMessage);
    const message =
      typeof outcome === 'string' ? outcome : `Cancelled ${formatInteger(outcome.cancelled)} job(s); a running one stops at its next progress point.`;
    return redirectWithFlash(c, `/jobs?${filterQuery(filter)}`, message);
  });
  app.post('/jobs/:id/retry', async (c) => {
    const id = positiveInteger(c.req.param('id'));
    if (id === undefined) return c.notFound();
    const refused = await retry(store, { id }).then(() => undefined, refusalMessage);
    return redirectWithFlash(c, `/jobs/${id}`, refused ?? `Job ${id} is queued again.`);
  });
  app.post('/jobs/:id/cancel', async (c) => {
    const id = positiveInteger(c.req.param('id'));
    if (id === undefined) return c.notFound();
    const outcome = await cancel(store, { id }).catch(refusalMessage);
    if (typeof outcome === 'string') return redirectWithFlash(c, `/jobs/${id}`, outcome);
    const message =
      outcome.was === 'running'
        ? `Job ${id} is cancelled: it stops at its next progress point, and none of its writes land.`
        : `Job ${id} is cancelled.`;
    return redirectWithFlash(c, `/jobs/${id}`, message);
  });
  app.post('/tasks/:name/:action{pause|resume}', async (c) => {
    const task = c.req.param('name');
    const change = await (c.req.param('action') === 'pause' ? pauseTask(store, task) : resumeTask(store, task)).catch(refusalMessage);
    if (typeof change === 'string') return redirectWithFlash(c, '/jobs', change);
    const message = change.paused
      ? `Task ${task} is paused: no worker claims its jobs until it is resumed (running ones finish).`
      : `Task ${task} is resumed: workers claim its jobs again.`;
    return redirectWithFlash(c, `/jobs?${filterQuery({ task })}`, message);
  });
  app.get('/schedules/:name', async (c) => {
    const view = await scheduleView(store, c.req.param('name'), { readOnly });
    return view === undefined ? c.notFound() : c.html(view);
  });
  app.get('/events', (c) => liveJobs(c, store, readStatus, { ...jobsFilter(c), job: positiveInteger(c.req.query('job')) }, shuttingDown));

  app.get('/backups', async (c) => c.html(await backupsView(store, { flash: takeFlash(c), csrf, readOnly })));
  app.post('/backups', async (c) => redirectWithFlash(c, '/backups', await queueBackupView(store)));

  app.get('/metrics', async (c) => c.body(await metricsText(store), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }));
  app.get('/healthz', async (c) => {
    const reason = await databaseHealth(store);
    if (reason === undefined) return c.text('ok\n');
    // The reason names the database's path: only for who may see the pages.
    return c.text(authorized(c) ? `unavailable: ${reason}\n` : 'unavailable\n', 503);
  });

  app.notFound((c) => c.text('Not found.\n', 404));
  app.onError((error, c) => {
    if (error instanceof JobNotFoundError) return c.text(`${error.message}\n`, 404);
    return c.text(`Something went wrong: ${store.describeError(error).message}\n`, 500);
  });
  return app;
}

/** A job that changed state meanwhile, or a filter a change does not apply to: the refusal is the message shown. Anything else is thrown on. */
function refusalMessage(error: unknown): string {
  if (error instanceof JobStateError || error instanceof UsageError) return error.message;
  throw error;
}

/** The jobs list's filter, as /jobs and its live stream read it from the query string. */
function jobsFilter(c: Context): { state: JobState | undefined; task: string | undefined } {
  const state = c.req.query('state');
  return {
    state: JOB_STATES.includes(state as JobState) ? (state as JobState) : undefined,
    task: c.req.query('task')?.trim().slice(0, 200) || undefined,
  };
}

/**
 * A bulk change's filter, exactly as its button sent it: an unknown state is refused rather than
 * read as no state (which would widen the change), and a task name is not cut short.
 */
function bulkFilter(c: Context): { state: JobState | undefined; task: string | undefined } | string {
  const state = c.req.query('state');
  if (state !== undefined && !JOB_STATES.includes(state as JobState)) {
    return `Nothing changed: ${JSON.stringify(state.slice(0, 40))} is not a state (${JOB_STATES.join(', ')}).`;
  }
  return { state: state as JobState | undefined, task: c.req.query('task') || undefined };
}

function positiveInteger(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,15}$/.test(value)) return undefined;
  const number = Number(value);
  return number >= 1 ? number : undefined;
}

/** After a POST: see the page, with one message shown above it once (the cookie carries it). */
function redirectWithFlash(c: Context, to: string, message: string): Response {
  setCookie(c, FLASH_COOKIE, message, { path: '/', httpOnly: true, sameSite: 'Lax', maxAge: 60 });
  return c.redirect(to, 303);
}

function takeFlash(c: Context): string | undefined {
  const value = getCookie(c, FLASH_COOKIE);
  if (value === undefined) return undefined;
  deleteCookie(c, FLASH_COOKIE, { path: '/' });
  return value;
}
