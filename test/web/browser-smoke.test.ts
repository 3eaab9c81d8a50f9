import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { saveScreenshot, useBrowser } from '../browser.js';
import { tempDb } from '../helpers.js';

// The whole chain on this machine, before any page of usergen serve depends on it: chromium
// launches, loads a page from a real server, runs its scripts, submits a form and renders the
// answer. When this fails, the other browser tests fail for the same reason.

// The button starts disabled and only the page's script enables it: a click that submits proves
// the script ran. The answer's text is written by script too, from what the server echoed.
const FORM = `<!doctype html>
<title>form</title>
<form method="post" action="/greet">
  <input name="name" aria-label="name" required>
  <button disabled>Greet</button>
</form>
<p id="status">loading</p>
<script>
  document.querySelector('button').disabled = false;
  document.getElementById('status').textContent = 'ready';
</script>`;

function answer(name: string): string {
  const attribute = name.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return `<!doctype html>
<title>answer</title>
<output id="greeting" data-name="${attribute}"></output>
<script>
  const greeting = document.getElementById('greeting');
  greeting.textContent = 'Hello, ' + greeting.dataset.name.toUpperCase() + '!';
</script>`;
}

/** A server for FORM on a free loopback port; closed when the test ends. Records the names posted. */
async function startServer(): Promise<{ url: string; posted: string[] }> {
  const posted: string[] = [];
  const server = http.createServer((request, response) => {
    if (request.method === 'POST' && request.url === '/greet') {
      let body = '';
      request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        const name = new URLSearchParams(body).get('name') ?? '';
        posted.push(name);
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(answer(name));
      });
      return;
    }
    if (request.url === '/') response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(FORM);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        // chromium keeps its connections alive; close() alone would wait for them.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, posted };
}

describe('a real browser', () => {
  const browser = useBrowser();

  it('loads a page, runs its script, submits its form and shows what script made of the answer', async () => {
    const { url, posted } = await startServer();
    const page = await browser.newPage();

    await page.goto(url);
    await page.locator('#status', { hasText: 'ready' }).waitFor();
    await page.getByLabel('name').fill('Ada');
    await page.getByRole('button', { name: 'Greet' }).click();
    await page.waitForURL(`${url}greet`);
    await page.getByText('Hello, ADA!').waitFor();

    expect(posted).toEqual(['Ada']);
    expect(await page.locator('#greeting').textContent()).toBe('Hello, ADA!');

    const file = await saveScreenshot(page, 'browser-smoke', tempDb().dir);
    expect(fs.readFileSync(file).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });
});
