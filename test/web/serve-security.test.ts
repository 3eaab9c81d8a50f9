import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { printableLocation } from '../../src/store/postgres/location.js';
import { openStore } from '../../src/store/open.js';
import { engineCli } from '../cli/engine-cli.js';
import { ENGINES } from '../engines.js';
import { waitFor } from '../helpers.js';
import { tempPgDatabase } from '../postgres.js';
import { databaseMade, dropPgDatabase, generate, jobCount, serveOn, storeOf } from './serve-helpers.js';
import { claimJobs } from '../../src/queue/claim.js';

// `usergen serve`'s defences, on each engine: CSRF, hostile payloads, --auth, loopback names,
// --read-only; on PostgreSQL, never the database's password in what it prints or serves.

describe.each(ENGINES)('usergen serve on $name: who may do what', (engine) => {
  it('refuses a POST without the CSRF token, with a wrong one, or from another origin; nothing changes', async () => {
    const served = await serveOn(await engine.database(), []);
    try {
      const store = await storeOf(served.db);
      const csrf = await served.csrf('/generate');
      expect((await served.post('/generate', { total: '100' })).status).toBe(403);
      expect((await served.post('/generate', { total: '100', _csrf: `${csrf}x` })).status).toBe(403);
      expect((await served.post('/generate', { total: '100', _csrf: csrf }, { origin: 'http://evil.example' })).status).toBe(403);
      expect((await served.post('/backups', { _csrf: 'nope' })).status).toBe(403);
      expect(await jobCount(store)).toBe(0);
      expect((await served.post('/generate', { total: '100', _csrf: csrf }, { origin: served.url })).status).toBe(303);
    } finally {
      await served.stop();
    }
  });

  it("answers a body it cannot read with 400 and one line, changing nothing; every refusal carries the pages' security headers", async () => {
    const served = await serveOn(await engine.database(), ['--auth', 'admin:s3cret']);
    try {
      const store = await storeOf(served.db);
      const auth = { Authorization: `Basic ${Buffer.from('admin:s3cret').toString('base64')}` };
      const securityHeaders = (page: { headers: Headers }, what: string) => {
        expect(page.headers.get('x-content-type-options'), what).toBe('nosniff');
        expect(page.headers.get('x-frame-options'), what).toBe('DENY');
        expect(page.headers.get('content-security-policy'), what).toMatch(/default-src 'self'/);
      };
      for (const path of ['/generate', '/backups', '/jobs/1/cancel', '/jobs/1/retry']) {
        for (const [type, body] of [
          ['multipart/form-data', 'total=200'],
          ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="total"\r\n\r\n200'],
        ]) {
          const page = await served.page(path, { method: 'POST', headers: { ...auth, Origin: served.url, 'Content-Type': type! }, body });
          expect(page.status, `${path} ${type}`).toBe(400);
          expect(page.text, `${path} ${type}`).toMatch(/^Bad request: [^\n]+\n$/);
          securityHeaders(page, `400 from ${path}`);
        }
      }
      for (const [type, body] of [
        ['application/json', '{"total":200}'],
        ['text/plain', 'total=200'],
        ['', 'total=200'],
      ]) {
        const headers: Record<string, string> = { ...auth, Origin: served.url };
        if (type !== '') headers['Content-Type'] = type!;
        const page = await served.page('/generate', { method: 'POST', headers, body: new TextEncoder().encode(body) });
        expect(page.status, type).toBe(400);
        expect(page.text, type).toMatch(/^Bad request: a form is sent as application\/x-www-form-urlencoded or multipart\/form-data, not [^\n]+\n$/);
        securityHeaders(page, `400 for ${type}`);
      }
      expect(await jobCount(store)).toBe(0);
      const unauthorized = await served.page('/users');
      expect(unauthorized.status).toBe(401);
      securityHeaders(unauthorized, '401');
      const forbidden = await served.post('/generate', { total: '100' }, auth);
      expect(forbidden.status).toBe(403);
      securityHeaders(forbidden, '403');
      const tooLarge = await served.page('/generate', {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'x'.repeat(100_000),
      });
      expect(tooLarge.status).toBe(413);
      securityHeaders(tooLarge, '413');
    } finally {
      await served.stop();
    }
  });

  it('shows a hostile payload and error as text, and never a password hash', async () => {
    const db = await engine.database();
    const hostile = '<script>alert(1)</script>';
    const store = await openStore(db);
    try {
      await store.enqueue({ task: `x${hostile}`, payload: { name: hostile }, maxAttempts: 1 });
      const [claimed] = await claimJobs(store, 'w', 1, 60_000, { tasks: [`x${hostile}`] });
      await store.failAttempt(
        { jobId: claimed!.id, workerId: 'w', attempt: 1 },
        JSON.stringify({ name: 'Error', message: hostile, stack: hostile }),
        null,
      );
    } finally {
      await store.close();
    }
    await generate(db, 50, '--wait');
    const served = await serveOn(db, []);
    try {
      for (const path of ['/jobs', '/jobs/1', '/jobs/2', '/users', '/users?page=1&order=newest']) {
        const { text } = await served.page(path);
        expect(text, path).not.toContain(hostile);
        expect(text, path).not.toMatch(/pbkdf2_sha256/);
      }
      expect((await served.page('/jobs/1')).text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect((await served.page('/jobs/2')).text).toContain('Users it made (50)');
    } finally {
      await served.stop();
    }
  });

  it('any address but loopback needs --auth; then every request asks for it, and the password is never printed', async () => {
    const cli = engineCli(await engine.database());
    const refused = await cli.run(['serve', '--port', '0', '--host', '0.0.0.0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('usergen: error: serving on 0.0.0.0 (not loopback) needs --auth user:password or $USERGEN_AUTH\n');
    expect(await databaseMade(cli.db)).toBe(false);
    const malformed = await cli.run(['serve', '--port', '0', '--auth', 'nopassword']);
    expect(malformed.code).toBe(2);

    const served = await serveOn(cli.db, ['--host', '0.0.0.0'], { env: { USERGEN_AUTH: 'ada:s3cret:pass' } });
    try {
      const url = served.url.replace('0.0.0.0', '127.0.0.1');
      const denied = await served.page(`${url}/users`);
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toMatch(/^Basic realm="usergen"/);
      const wrong = await served.page(`${url}/users`, { headers: { authorization: `Basic ${Buffer.from('ada:wrong').toString('base64')}` } });
      expect(wrong.status).toBe(401);
      const allowed = await served.page(`${url}/users`, { headers: { authorization: `Basic ${Buffer.from('ada:s3cret:pass').toString('base64')}` } });
      expect(allowed.status).toBe(200);
      expect((await served.page(`${url}/metrics`)).status).toBe(401);
      // A load balancer's health check sends no credentials: it is told ok, and no more.
      expect((await served.page(`${url}/healthz`)).text).toBe('ok\n');
    } finally {
      const exit = await served.stop();
      expect(exit.stdout + exit.stderr).not.toContain('s3cret');
    }
  });

  it('without --auth answers only to a loopback name (no DNS rebinding), and refuses a body too large', async () => {
    const served = await serveOn(await engine.database(), []);
    try {
      const store = await storeOf(served.db);
      const { port } = new URL(served.url);
      const statusWithHost = (host: string) =>
        new Promise<number>((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port, path: '/generate', headers: { host } }, (response) => {
              response.resume();
              resolve(response.statusCode!);
            })
            .on('error', reject);
        });
      expect(await statusWithHost(`evil.example:${port}`)).toBe(403);
      expect(await statusWithHost(`localhost:${port}`)).toBe(200);
      expect(await statusWithHost(`127.0.0.1:${port}`)).toBe(200);

      const csrf = await served.csrf('/generate');
      const huge = await served.post('/generate', { total: '100', _csrf: csrf, padding: 'x'.repeat(100_000) });
      expect(huge.status).toBe(413);
      expect(await jobCount(store)).toBe(0);
    } finally {
      await served.stop();
    }
  });

  it('--read-only shows no button and refuses every POST', async () => {
    const db = await engine.database();
    await generate(db, 50);
    const served = await serveOn(db, ['--read-only']);
    try {
      for (const path of ['/generate', '/jobs', '/jobs/1', '/backups']) {
        const { text } = await served.page(path);
        expect(text, path).not.toContain('method="post"');
        expect(text, path).toContain('read-only');
      }
      for (const path of ['/generate', '/jobs/1/cancel', '/backups']) {
        expect((await served.post(path, { total: '100', _csrf: 'any' })).status, path).toBe(403);
      }
      expect(await jobCount(await storeOf(db), 'queued')).toBe(1);
    } finally {
      await served.stop();
    }
  });
});

describe('usergen serve on PostgreSQL', () => {
  it('names its database without the password, in what it prints and on every page, even once the database is gone', async () => {
    const db = await tempPgDatabase();
    await generate(db, 50, '--wait');
    const served = await serveOn(db, ['--worker', '--concurrency', '1']);
    try {
      expect(printableLocation(db)).toContain(':***@');
      expect(served.cli.stdout()).toContain(` on ${printableLocation(db)}, with a worker`);
      for (const path of ['/users', '/generate', '/jobs', '/jobs/1', '/backups', '/metrics', '/healthz', '/nothing']) await served.page(path);
      const stream = await served.events('/events');
      expect((await stream.next())?.event).toBe('jobs');

      await dropPgDatabase(db);
      // Every way the failure reaches a reader: the health check, a page, the live stream.
      expect((await served.page('/healthz')).status).toBe(503);
      const failed = await served.page('/users');
      expect(failed.status).toBe(500);
      expect(failed.text).toMatch(/^Something went wrong: /);
      const last = await waitFor(async () => {
        const event = await stream.next();
        return event === undefined || event.event === 'failed' ? { event } : undefined;
      }, 'the live stream to fail');
      expect(last.event?.event).toBe('failed');
    } finally {
      // The worker keeps trying a database that is gone; SIGTERM still stops it, exit 0.
      await served.stop();
    }
  });
});
