import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATING } from '../../src/web/pages/generate.js';
import { ENGINES } from '../engines.js';
import { tempDb, waitFor } from '../helpers.js';
import { dropPgDatabase, generate, jobCount, parsePrometheus, serveOn, storeOf } from './serve-helpers.js';

// `usergen serve` as a real server on a free port, driven over HTTP, on each engine. On PostgreSQL
// every page read and everything the process printed is also checked for the database's password.

describe.each(ENGINES)('usergen serve on $name', (engine) => {
  it('answers every page with its status, and refuses what does not exist', async () => {
    const served = await serveOn(await engine.database(), []);
    try {
      const status = async (path: string) => (await served.page(path)).status;
      expect(await status('/')).toBe(302);
      for (const path of ['/generate', '/users', '/jobs', '/backups', '/metrics', '/healthz', '/static/app.css', '/static/app.js']) {
        expect(await status(path), path).toBe(200);
      }
      for (const path of ['/jobs/999', '/jobs/abc', '/nothing', '/users/1']) expect(await status(path), path).toBe(404);
      const users = (await served.page('/users')).text;
      expect(users).toContain('No users yet.');
      expect(users).toContain('<a href="/generate">Generate some</a>');
    } finally {
      await served.stop();
    }
  });

  it('the form: refuses 49, 501, abc and nothing, keeping the value; 200 is queued, and /users says so once', async () => {
    const served = await serveOn(await engine.database(), []);
    try {
      const store = await storeOf(served.db);
      const csrf = await served.csrf('/generate');
      for (const value of ['49', '501', 'abc', '']) {
        const response = await served.post('/generate', { total: value, _csrf: csrf });
        expect(response.status, value).toBe(400);
        expect(response.text).toMatch(
          /class="field-error">Enter (a whole number|how many users to generate), from 50 to 500|class="field-error">Enter a whole number from 50 to 500/,
        );
        expect(response.text).toContain(`value="${value}"`);
      }
      expect(await jobCount(store)).toBe(0);

      const response = await served.post('/generate', { total: '200', _csrf: csrf });
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toBe('/users');
      const cookie = response.headers.get('set-cookie')!.split(';')[0]!;
      expect((await served.page('/users', { headers: { cookie } })).text).toContain(GENERATING);
      const jobs = await store.db.selectFrom('jobs').select(['task', 'payload', 'state']).execute();
      expect(jobs).toEqual([{ task: 'generate_users', payload: JSON.stringify({ total: 200, iterations: 1000 }), state: 'queued' }]);
      // Shown once: the page that showed it cleared it.
      expect((await served.page('/users')).text).not.toContain(GENERATING);
    } finally {
      await served.stop();
    }
  });

  it('retry and cancel from the pages; a cancel of a job that ended is refused, on its page', async () => {
    const db = await engine.database();
    await generate(db, 50);
    const served = await serveOn(db, []);
    try {
      const store = await storeOf(db);
      const job = () => store.db.selectFrom('jobs').select(['state', 'attempts']).where('id', '=', 1).executeTakeFirstOrThrow();
      const csrf = await served.csrf('/jobs');
      const cancelled = await served.post('/jobs/1/cancel', { _csrf: csrf });
      expect(cancelled.status).toBe(303);
      expect(cancelled.headers.get('location')).toBe('/jobs/1');
      expect((await job()).state).toBe('cancelled');
      const refused = await served.post('/jobs/1/cancel', { _csrf: csrf });
      expect(refused.status).toBe(303);
      const cookie = refused.headers.get('set-cookie')!.split(';')[0]!;
      expect((await served.page('/jobs/1', { headers: { cookie } })).text).toMatch(/class="flash" role="status">job 1 is cancelled[^<]*/i);
      const retried = await served.post('/jobs/1/retry', { _csrf: csrf });
      expect(retried.status).toBe(303);
      expect(await job()).toEqual({ state: 'queued', attempts: 0 });
      expect((await served.post('/jobs/9/retry', { _csrf: csrf })).status).toBe(404);
    } finally {
      await served.stop();
    }
  });

  it('a list of one state has a button that retries (or cancels) every job of its state and task, not only those shown', async () => {
    const db = await engine.database();
    for (let n = 0; n < 3; n++) await generate(db, 50);
    const served = await serveOn(db, []);
    try {
      const store = await storeOf(db);
      const states = async () => (await store.db.selectFrom('jobs').select('state').orderBy('id').execute()).map((row) => row.state);
      const csrf = await served.csrf('/jobs');
      expect((await served.page('/jobs')).text).not.toContain('every queued job');
      const queuedPage = (await served.page('/jobs?state=queued&task=generate_users')).text;
      expect(queuedPage).toContain('action="/jobs/cancel?state=queued&amp;task=generate_users"');
      expect(queuedPage).toContain('Cancel every queued job of generate_users');

      const cancelled = await served.post('/jobs/cancel?state=queued&task=generate_users', { _csrf: csrf });
      expect(cancelled.status).toBe(303);
      expect(cancelled.headers.get('location')).toBe('/jobs?state=queued&task=generate_users');
      expect(await states()).toEqual(['cancelled', 'cancelled', 'cancelled']);
      const cookie = cancelled.headers.get('set-cookie')!.split(';')[0]!;
      expect((await served.page('/jobs?state=queued', { headers: { cookie } })).text).toContain('Cancelled 3 job(s); a running one stops');

      expect((await served.page('/jobs?state=cancelled')).text).toContain('Retry every cancelled job</button>');
      const refused = await served.post('/jobs/retry?state=queued', { _csrf: csrf });
      const refusal = refused.headers.get('set-cookie')!.split(';')[0]!;
      expect((await served.page('/jobs', { headers: { cookie: refusal } })).text).toContain('only failed or cancelled jobs can be retried');
      expect(await states()).toEqual(['cancelled', 'cancelled', 'cancelled']);
      expect((await served.post('/jobs/retry?state=cancelled', { _csrf: csrf })).status).toBe(303);
      expect(await states()).toEqual(['queued', 'queued', 'queued']);
      expect((await served.post('/jobs/retry?state=cancelled', {})).status).toBe(403);

      // A state that is none: refused, not read as "any state" of the task.
      await served.post('/jobs/cancel?state=queud&task=generate_users', { _csrf: csrf }).then(async (typo) => {
        expect(typo.status).toBe(303);
        const flash = typo.headers.get('set-cookie')!.split(';')[0]!;
        expect((await served.page('/jobs', { headers: { cookie: flash } })).text).toContain('Nothing changed: &quot;queud&quot; is not a state');
      });
      expect(await states()).toEqual(['queued', 'queued', 'queued']);
    } finally {
      await served.stop();
    }
  });

  it("a task's Pause button on /jobs of that task, its Resume button while paused; /metrics counts it", async () => {
    const db = await engine.database();
    await generate(db, 50);
    const served = await serveOn(db, []);
    try {
      const store = await storeOf(db);
      const csrf = await served.csrf('/jobs');
      expect((await served.page('/jobs')).text).not.toContain('/pause');
      expect((await served.page('/jobs?task=generate_users')).text).toContain('action="/tasks/generate_users/pause"');
      const paused = await served.post('/tasks/generate_users/pause', { _csrf: csrf });
      expect(paused.status).toBe(303);
      expect(paused.headers.get('location')).toBe('/jobs?task=generate_users');
      expect((await store.pausedTasks()).map((row) => row.task)).toEqual(['generate_users']);
      const page = (await served.page('/jobs')).text;
      expect(page).toMatch(
        /<p class="paused" data-paused="generate_users">Task <b>generate_users<\/b> is paused since [^:]+:\d\d:\d\d UTC: no worker claims its 1 ready job\(s\)\./,
      );
      expect(page).toContain('action="/tasks/generate_users/resume"');
      const metrics = parsePrometheus((await served.page('/metrics')).text);
      expect(metrics.get('usergen_task_paused{task="generate_users"}')).toBe(1);
      expect(metrics.get('usergen_task_paused_ready_jobs{task="generate_users"}')).toBe(1);
      expect((await served.post('/tasks/generate_users/resume', { _csrf: csrf })).status).toBe(303);
      expect(await store.pausedTasks()).toEqual([]);
      expect((await served.post('/tasks/generate_users/pause', {})).status).toBe(403);

      // A name no task can have: one line, shown, not a 500.
      const tooLong = await served.post(`/tasks/${'x'.repeat(300)}/pause`, { _csrf: csrf });
      expect(tooLong.status).toBe(303);
      const flash = tooLong.headers.get('set-cookie')!.split(';')[0]!;
      expect((await served.page('/jobs', { headers: { cookie: flash } })).text).toMatch(/class="flash[^"]*"[^>]*>[^<]*task/);
      expect(await store.pausedTasks()).toEqual([]);
    } finally {
      await served.stop();
    }
  });

  it('SIGTERM with --worker stops serving at once, then lets the running job finish, and exits 0', async () => {
    const served = await serveOn(await engine.database(), ['--worker', '--concurrency', '1', '--hash-iterations', '60000']);
    const store = await storeOf(served.db);
    const csrf = await served.csrf('/generate');
    expect((await served.post('/generate', { total: '300', _csrf: csrf })).status).toBe(303);
    await waitFor(async () => {
      const running = await store.db.selectFrom('jobs').select('id').where('state', '=', 'running').where('progress_current', '>', 0).execute();
      return running.length === 1;
    }, 'the job to be running');
    served.cli.child.kill('SIGTERM');
    await waitFor(
      () =>
        fetch(`${served.url}/healthz`).then(
          () => false,
          () => true,
        ),
      'the server to stop answering',
    );
    expect(served.cli.child.exitCode).toBeNull();
    const exit = await served.cli.exited;
    expect(exit.code).toBe(0);
    expect(await jobCount(store, 'succeeded')).toBe(1);
  });

  it('/metrics is Prometheus text of the whole table; /healthz is 200, then 503 with the reason once the database is gone', async () => {
    const db = await engine.database();
    await generate(db, 50, '--wait');
    await generate(db, 60);
    const served = await serveOn(db, []);
    try {
      const response = await served.page('/metrics');
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const samples = parsePrometheus(response.text);
      expect(samples.get('usergen_jobs{state="succeeded"}')).toBe(1);
      expect(samples.get('usergen_jobs{state="queued"}')).toBe(1);
      expect(samples.get('usergen_task_attempts{task="generate_users",outcome="succeeded"}')).toBe(1);
      expect(samples.get('usergen_workers_alive')).toBe(0);
      expect(samples.get('usergen_oldest_queued_job_age_seconds')).toBeGreaterThanOrEqual(0);
      expect(samples.get('usergen_job_duration_seconds_count{task="generate_users"}')).toBe(1);
      expect(samples.get('usergen_job_duration_seconds_bucket{task="generate_users",le="+Inf"}')).toBe(1);
      expect(samples.has('usergen_last_backup_timestamp_seconds')).toBe(true);

      expect((await served.page('/healthz')).text).toBe('ok\n');
      // How a database goes, and what /healthz says then, is each engine's own: an SQLite file is
      // deleted (the server's open connection would read on from the unlinked file, so the check
      // compares the file's identity and names the file); a PostgreSQL database is dropped, which
      // ends the server's connections.
      if (engine.name === 'sqlite') {
        fs.rmSync(db);
        const down = await served.page('/healthz');
        expect(down.status).toBe(503);
        expect(down.text).toBe(`unavailable: ${db} was deleted or replaced since it was opened\n`);
      } else {
        await dropPgDatabase(db);
        const down = await served.page('/healthz');
        expect(down.status).toBe(503);
        // The first reason may be a connection the drop ended (it can be read before its end is);
        // once the pool has let those go, it is the database that is missing.
        expect(down.text).toMatch(/^unavailable: [^\n]+\n$/);
        const missing = `unavailable: database "${new URL(db).pathname.slice(1)}" does not exist\n`;
        await waitFor(async () => (await served.page('/healthz')).text === missing, 'the reason to be the missing database');
      }
    } finally {
      await served.stop();
    }
  });

  it('"Back up now" queues a backup job that the in-process worker makes; /backups then lists it', async () => {
    const db = await engine.database();
    await generate(db, 50, '--wait');
    // A PostgreSQL database's backups go to ./backups: the server runs in a folder of the test's own.
    const served = await serveOn(db, ['--worker'], { cwd: tempDb().dir });
    try {
      const csrf = await served.csrf('/backups');
      const response = await served.post('/backups', { _csrf: csrf });
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toBe('/backups');
      const cookie = response.headers.get('set-cookie')!.split(';')[0]!;
      expect((await served.page('/backups', { headers: { cookie } })).text).toMatch(/Backup job 2 queued: a worker makes it now\./);
      // Listed once on record, with the users it holds (the file alone is listed without them).
      const name = engine.name === 'sqlite' ? /usergen-\d{4}-\d\d-\d\dT[\d-]+Z\.db/ : /usergen-\d{4}-\d\d-\d\dT[\d-]+Z\.dump/;
      await waitFor(async () => {
        const { text } = await served.page('/backups');
        return name.test(text) && text.includes('<td>50</td>');
      }, 'the backup to be listed with its 50 users');
    } finally {
      await served.stop();
    }
  });

  it('--worker runs the queue in the same process: the form, then the 200 users on /users', async () => {
    const served = await serveOn(await engine.database(), ['--worker']);
    try {
      const csrf = await served.csrf('/generate');
      expect((await served.post('/generate', { total: '200', _csrf: csrf })).status).toBe(303);
      const page = await waitFor(async () => {
        const { text } = await served.page('/users');
        return text.includes('showing 1-50 of 200') ? text : undefined;
      }, 'the 200 users');
      expect(page).toContain('Users <span class="muted">(200)</span>');
      expect((await served.page('/users?page=4')).text).toContain('showing 151-200 of 200');
      expect((await served.page('/users?page=99')).text).toContain('Page 4 of 4 · showing 151-200 of 200');
    } finally {
      await served.stop();
    }
  });

  it('/events streams the counts and the jobs a page shows: the list, or one job', async () => {
    const db = await engine.database();
    await generate(db, 50, '--wait');
    await generate(db, 60);
    const served = await serveOn(db, []);
    try {
      const all = await (await served.events('/events')).next();
      expect(all?.event).toBe('jobs');
      const listed = JSON.parse(all!.data) as { counts: Record<string, number>; jobs: Array<{ id: number; state: string }> };
      expect(listed.counts).toMatchObject({ queued: 1, running: 0, succeeded: 1, failed: 0, cancelled: 0 });
      expect(listed.jobs.map((job) => [job.id, job.state])).toEqual([
        [2, 'queued'],
        [1, 'succeeded'],
      ]);
      const queued = await (await served.events('/events?state=queued')).next();
      expect((JSON.parse(queued!.data) as typeof listed).jobs.map((job) => job.id)).toEqual([2]);
      const one = await (await served.events('/events?job=1')).next();
      expect(JSON.parse(one!.data).jobs).toEqual([{ id: 1, state: 'succeeded', progress_current: 50, progress_total: 50, attempts: 1 }]);
    } finally {
      await served.stop();
    }
  });
});
