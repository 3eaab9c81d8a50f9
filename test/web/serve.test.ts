import fs from 'node:fs';
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { GENERATING } from '../../src/web/pages/generate.js';
import { count, generate, inspectDb, runCli, tempDb, waitFor } from '../helpers.js';
import { csrfOf, parsePrometheus, post, startServe } from './serve-helpers.js';

// `usergen serve` as a real server on a free port, driven over HTTP.


describe('usergen serve', () => {
  it('answers every page with its status, and refuses what does not exist', async () => {
    const { db: file } = tempDb();
    const served = await startServe(['--db', file]);
    try {
      const status = async (path: string) => (await fetch(served.url + path, { redirect: 'manual' })).status;
      expect(await status('/')).toBe(302);
      for (const path of ['/generate', '/users', '/jobs', '/backups', '/metrics', '/healthz', '/static/app.css', '/static/app.js']) {
        expect(await status(path), path).toBe(200);
      }
      for (const path of ['/jobs/999', '/jobs/abc', '/nothing', '/users/1']) expect(await status(path), path).toBe(404);
      const users = await (await fetch(`${served.url}/users`)).text();
      expect(users).toContain('No users yet.');
      expect(users).toContain('<a href="/generate">Generate some</a>');
    } finally {
      await served.stop();
    }
  });

  it('the form: refuses 49, 501, abc and nothing, keeping the value; 200 is queued, and /users says so once', async () => {
    const { db: file } = tempDb();
    const served = await startServe(['--db', file]);
    try {
      const csrf = await csrfOf(`${served.url}/generate`);
      for (const value of ['49', '501', 'abc', '']) {
        const response = await post(`${served.url}/generate`, { total: value, _csrf: csrf });
        expect(response.status, value).toBe(400);
        const text = await response.text();
        expect(text).toMatch(/class="field-error">Enter (a whole number|how many users to generate), from 50 to 500|class="field-error">Enter a whole number from 50 to 500/);
        expect(text).toContain(`value="${value}"`);
      }
      expect(count(inspectDb(file), 'select count(*) from jobs')).toBe(0);

      const response = await post(`${served.url}/generate`, { total: '200', _csrf: csrf });
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toBe('/users');
      const cookie = response.headers.get('set-cookie')!.split(';')[0]!;
      const first = await (await fetch(`${served.url}/users`, { headers: { cookie } })).text();
      expect(first).toContain(GENERATING);
      const job = inspectDb(file).prepare('select task, payload, state from jobs').get();
      expect(job).toEqual({ task: 'generate_users', payload: JSON.stringify({ total: 200, iterations: 1000 }), state: 'queued' });
      // Shown once: the page that showed it cleared it.
      const again = await (await fetch(`${served.url}/users`)).text();
      expect(again).not.toContain(GENERATING);
    } finally {
      await served.stop();
    }
  });

  it('retry and cancel from the pages; a cancel of a job that ended is refused, on its page', async () => {
    const { db: file } = tempDb();
    await generate(file, 50);
    const served = await startServe(['--db', file]);
    try {
      const csrf = await csrfOf(`${served.url}/jobs`);
      const cancelled = await post(`${served.url}/jobs/1/cancel`, { _csrf: csrf });
      expect(cancelled.status).toBe(303);
      expect(cancelled.headers.get('location')).toBe('/jobs/1');
      expect(inspectDb(file).prepare('select state from jobs where id = 1').pluck().get()).toBe('cancelled');
      const refused = await post(`${served.url}/jobs/1/cancel`, { _csrf: csrf });
      expect(refused.status).toBe(303);
      const cookie = refused.headers.get('set-cookie')!.split(';')[0]!;
      expect(await (await fetch(`${served.url}/jobs/1`, { headers: { cookie } })).text()).toMatch(/class="flash" role="status">job 1 is cancelled[^<]*/i);
      const retried = await post(`${served.url}/jobs/1/retry`, { _csrf: csrf });
      expect(retried.status).toBe(303);
      expect(inspectDb(file).prepare('select state, attempts from jobs where id = 1').get()).toEqual({ state: 'queued', attempts: 0 });
      expect((await post(`${served.url}/jobs/9/retry`, { _csrf: csrf })).status).toBe(404);
    } finally {
      await served.stop();
    }
  });

  it('refuses a POST without the CSRF token, with a wrong one, or from another origin; nothing changes', async () => {
    const { db: file } = tempDb();
    const served = await startServe(['--db', file]);
    try {
      const csrf = await csrfOf(`${served.url}/generate`);
      expect((await post(`${served.url}/generate`, { total: '100' })).status).toBe(403);
      expect((await post(`${served.url}/generate`, { total: '100', _csrf: `${csrf}x` })).status).toBe(403);
      expect((await post(`${served.url}/generate`, { total: '100', _csrf: csrf }, { origin: 'http://evil.example' })).status).toBe(403);
      expect((await post(`${served.url}/backups`, { _csrf: 'nope' })).status).toBe(403);
      expect(count(inspectDb(file), 'select count(*) from jobs')).toBe(0);
      expect((await post(`${served.url}/generate`, { total: '100', _csrf: csrf }, { origin: served.url })).status).toBe(303);
    } finally {
      await served.stop();
    }
  });

  it('shows a hostile payload and error as text, and never a password hash', async () => {
    const { db: file } = tempDb();
    const store = await openSqliteStore(file);
    const hostile = '<script>alert(1)</script>';
    try {
      await store.enqueue({ task: `x${hostile}`, payload: { name: hostile }, maxAttempts: 1 });
      const [claimed] = await store.claim('w', 1, 60_000, { tasks: [`x${hostile}`] });
      await store.failAttempt({ jobId: claimed!.id, workerId: 'w', attempt: 1 }, JSON.stringify({ name: 'Error', message: hostile, stack: hostile }), null);
    } finally {
      await store.close();
    }
    await generate(file, 50, '--wait');
    const served = await startServe(['--db', file]);
    try {
      for (const path of ['/jobs', '/jobs/1', '/jobs/2', '/users', '/users?page=1&order=newest']) {
        const text = await (await fetch(served.url + path)).text();
        expect(text, path).not.toContain(hostile);
        expect(text, path).not.toMatch(/pbkdf2_sha256/);
      }
      const detail = await (await fetch(`${served.url}/jobs/1`)).text();
      expect(detail).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      const made = await (await fetch(`${served.url}/jobs/2`)).text();
      expect(made).toContain('Users it made (50)');
    } finally {
      await served.stop();
    }
  });

  it('any address but loopback needs --auth; then every request asks for it, and the password is never printed', async () => {
    const { db: file } = tempDb();
    const refused = await runCli(['serve', '--port', '0', '--host', '0.0.0.0', '--db', file]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('usergen: error: serving on 0.0.0.0 (not loopback) needs --auth user:password or $USERGEN_AUTH\n');
    expect(fs.existsSync(file)).toBe(false);
    const malformed = await runCli(['serve', '--port', '0', '--auth', 'nopassword', '--db', file]);
    expect(malformed.code).toBe(2);

    const served = await startServe(['--host', '0.0.0.0', '--db', file], { env: { USERGEN_AUTH: 'ada:s3cret:pass' } });
    try {
      const url = served.url.replace('0.0.0.0', '127.0.0.1');
      const denied = await fetch(`${url}/users`);
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toMatch(/^Basic realm="usergen"/);
      const wrong = await fetch(`${url}/users`, { headers: { authorization: `Basic ${Buffer.from('ada:wrong').toString('base64')}` } });
      expect(wrong.status).toBe(401);
      const allowed = await fetch(`${url}/users`, { headers: { authorization: `Basic ${Buffer.from('ada:s3cret:pass').toString('base64')}` } });
      expect(allowed.status).toBe(200);
      expect((await fetch(`${url}/metrics`)).status).toBe(401);
      // A load balancer's health check sends no credentials: it is told ok, and no more.
      expect(await (await fetch(`${url}/healthz`)).text()).toBe('ok\n');
    } finally {
      const exit = await served.stop();
      expect(exit.stdout + exit.stderr).not.toContain('s3cret');
    }
  });

  it('without --auth answers only to a loopback name (no DNS rebinding), and refuses a body too large', async () => {
    const { db: file } = tempDb();
    const served = await startServe(['--db', file]);
    try {
      const { port } = new URL(served.url);
      const statusWithHost = (host: string) =>
        new Promise<number>((resolve, reject) => {
          http.get({ host: '127.0.0.1', port, path: '/generate', headers: { host } }, (response) => {
            response.resume();
            resolve(response.statusCode!);
          }).on('error', reject);
        });
      expect(await statusWithHost(`evil.example:${port}`)).toBe(403);
      expect(await statusWithHost(`localhost:${port}`)).toBe(200);
      expect(await statusWithHost(`127.0.0.1:${port}`)).toBe(200);

      const csrf = await csrfOf(`${served.url}/generate`);
      const huge = await post(`${served.url}/generate`, { total: '100', _csrf: csrf, padding: 'x'.repeat(100_000) });
      expect(huge.status).toBe(413);
      expect(count(inspectDb(file), 'select count(*) from jobs')).toBe(0);
    } finally {
      await served.stop();
    }
  });

  it('SIGTERM with --worker stops serving at once, then lets the running job finish, and exits 0', async () => {
    const { db: file } = tempDb();
    const served = await startServe(['--worker', '--concurrency', '1', '--hash-iterations', '60000', '--db', file]);
    const csrf = await csrfOf(`${served.url}/generate`);
    expect((await post(`${served.url}/generate`, { total: '300', _csrf: csrf })).status).toBe(303);
    const db = inspectDb(file);
    await waitFor(() => count(db, "select count(*) from jobs where state = 'running' and progress_current > 0") === 1, 'the job to be running');
    served.cli.child.kill('SIGTERM');
    await waitFor(() => fetch(`${served.url}/healthz`).then(() => false, () => true), 'the server to stop answering');
    expect(served.cli.child.exitCode).toBeNull();
    const exit = await served.cli.exited;
    expect(exit.code).toBe(0);
    expect(db.prepare('select state from jobs where id = 1').pluck().get()).toBe('succeeded');
  });

  it('--read-only shows no button and refuses every POST', async () => {
    const { db: file } = tempDb();
    await generate(file, 50);
    const served = await startServe(['--read-only', '--db', file]);
    try {
      for (const path of ['/generate', '/jobs', '/jobs/1', '/backups']) {
        const text = await (await fetch(served.url + path)).text();
        expect(text, path).not.toContain('method="post"');
        expect(text, path).toContain('read-only');
      }
      const token = 'any';
      for (const path of ['/generate', '/jobs/1/cancel', '/backups']) {
        expect((await post(served.url + path, { total: '100', _csrf: token })).status, path).toBe(403);
      }
      expect(inspectDb(file).prepare('select state from jobs where id = 1').pluck().get()).toBe('queued');
    } finally {
      await served.stop();
    }
  });

  it('/metrics is Prometheus text of the whole table; /healthz is 200, then 503 with the reason once the file is gone', async () => {
    const { db: file } = tempDb();
    await generate(file, 50, '--wait');
    await generate(file, 60);
    const served = await startServe(['--db', file]);
    try {
      const response = await fetch(`${served.url}/metrics`);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const samples = parsePrometheus(await response.text());
      expect(samples.get('usergen_jobs{state="succeeded"}')).toBe(1);
      expect(samples.get('usergen_jobs{state="queued"}')).toBe(1);
      expect(samples.get('usergen_task_attempts{task="generate_users",outcome="succeeded"}')).toBe(1);
      expect(samples.get('usergen_workers_alive')).toBe(0);
      expect(samples.get('usergen_oldest_queued_job_age_seconds')).toBeGreaterThanOrEqual(0);
      expect(samples.get('usergen_job_duration_seconds_count{task="generate_users"}')).toBe(1);
      expect(samples.get('usergen_job_duration_seconds_bucket{task="generate_users",le="+Inf"}')).toBe(1);
      expect(samples.has('usergen_last_backup_timestamp_seconds')).toBe(true);

      expect(await (await fetch(`${served.url}/healthz`)).text()).toBe('ok\n');
      fs.rmSync(file);
      const down = await fetch(`${served.url}/healthz`);
      expect(down.status).toBe(503);
      expect(await down.text()).toBe(`unavailable: ${file} was deleted or replaced since it was opened\n`);
    } finally {
      await served.stop();
    }
  });

  it('"Back up now" queues a backup job that the in-process worker makes; /backups then lists it', async () => {
    const { db: file } = tempDb();
    await generate(file, 50, '--wait');
    const served = await startServe(['--worker', '--db', file]);
    try {
      const csrf = await csrfOf(`${served.url}/backups`);
      const response = await post(`${served.url}/backups`, { _csrf: csrf });
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toBe('/backups');
      const cookie = response.headers.get('set-cookie')!.split(';')[0]!;
      expect(await (await fetch(`${served.url}/backups`, { headers: { cookie } })).text()).toMatch(/Backup job 2 queued: a worker makes it now\./);
      // Listed once on record, with the users it holds (the file alone is listed without them).
      await waitFor(async () => {
        const text = await (await fetch(`${served.url}/backups`)).text();
        return /usergen-\d{4}-\d\d-\d\dT[\d-]+Z\.db/.test(text) && text.includes('<td>50</td>');
      }, 'the backup to be listed with its 50 users');
    } finally {
      await served.stop();
    }
  });

  it('--worker runs the queue in the same process: the form, then the 200 users on /users', async () => {
    const { db: file } = tempDb();
    const served = await startServe(['--worker', '--db', file]);
    try {
      const csrf = await csrfOf(`${served.url}/generate`);
      expect((await post(`${served.url}/generate`, { total: '200', _csrf: csrf })).status).toBe(303);
      const page = await waitFor(async () => {
        const text = await (await fetch(`${served.url}/users`)).text();
        return text.includes('showing 1-50 of 200') ? text : undefined;
      }, 'the 200 users');
      expect(page).toContain('Users <span class="muted">(200)</span>');
      const last = await (await fetch(`${served.url}/users?page=4`)).text();
      expect(last).toContain('showing 151-200 of 200');
      const beyond = await (await fetch(`${served.url}/users?page=99`)).text();
      expect(beyond).toContain('Page 4 of 4 · showing 151-200 of 200');
    } finally {
      await served.stop();
    }
  });
});
