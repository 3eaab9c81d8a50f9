import { describe, expect, it } from 'vitest';
import { saveScreenshot, useBrowser } from '../browser.js';
import { count, inspectDb, tempDb, waitFor } from '../helpers.js';
import { startServe } from './serve-helpers.js';

// The original walk-through in a real browser, with `usergen serve --worker` as the only process:
// the form, the flash, the job's progress bar moving on /jobs without a reload, the users.

const browser = useBrowser();

// Hashes slow enough for a 200-user job to take a few seconds: its progress is seen moving.
const VISIBLE_ITERATIONS = '60000';
const BAR = '[data-job="1"] progress';

/**
 * Whether the bar's value is above `min`. Runs in the page, so it is whole in itself; a function,
 * not a string, as the pages' CSP allows no eval.
 */
function barAbove([selector, min]: readonly [string, number]): boolean {
  const { document } = globalThis as unknown as { document: { querySelector(selector: string): { value?: number } | null } };
  return Number(document.querySelector(selector)?.value ?? 0) > min;
}

describe('usergen serve in a browser', () => {
  it('generate 200 from the form, watch the job run on /jobs without a reload, then find the 200 users', async () => {
    const { db: file } = tempDb();
    const served = await startServe(['--worker', '--concurrency', '2', '--hash-iterations', VISIBLE_ITERATIONS, '--db', file]);
    try {
      const page = await browser.newPage();
      await page.goto(`${served.url}/generate`);
      await saveScreenshot(page, 'generate');
      await page.getByLabel('How many users').fill('200');
      await page.getByRole('button', { name: 'Generate' }).click();
      await page.waitForURL(`${served.url}/users`);
      await page.getByText('We are generating your random users! Wait a moment and refresh this page.').waitFor();
      await saveScreenshot(page, 'users-flash');

      await page.goto(`${served.url}/jobs`);
      await page.evaluate('window.notReloaded = true');
      const bar = page.locator(BAR);
      // A value, then a greater one (the first cannot be the end): the bar moved while the job ran.
      await page.waitForFunction(barAbove, [BAR, 0] as const);
      const first = Number(await bar.getAttribute('value'));
      await page.waitForFunction(barAbove, [BAR, first] as const);
      await saveScreenshot(page, 'jobs-running');
      await page.locator('[data-job="1"] [data-field="state"]', { hasText: 'succeeded' }).waitFor({ timeout: 60_000 });
      expect(await page.evaluate('window.notReloaded')).toBe(true);
      // The counts come from a status at most a second old: they follow.
      await page.locator('[data-count="succeeded"]', { hasText: /^1$/ }).waitFor();

      await page.goto(`${served.url}/users`);
      await page.getByText('showing 1-50 of 200').waitFor();
      expect(await page.locator('tbody tr').count()).toBe(50);
      await saveScreenshot(page, 'users');
      await page.goto(`${served.url}/jobs/1`);
      await page.getByText('Users it made (200)').waitFor();
      await saveScreenshot(page, 'job');
      await page.goto(`${served.url}/backups`);
      await saveScreenshot(page, 'backups');
      expect(count(inspectDb(file), 'select count(*) from users')).toBe(200);
    } finally {
      await served.stop();
    }
  });

  it('checks the form in the browser: 49 is not sent', async () => {
    const { db: file } = tempDb();
    const served = await startServe(['--db', file]);
    try {
      const page = await browser.newPage();
      await page.goto(`${served.url}/generate`);
      const posted: string[] = [];
      page.on('request', (request) => void (request.method() === 'POST' && posted.push(request.url())));
      await page.evaluate('window.notReloaded = true');
      await page.getByLabel('How many users').fill('49');
      // The click waits for any navigation it starts: a form sent would have left this page.
      await page.getByRole('button', { name: 'Generate' }).click();
      expect(posted).toEqual([]);
      expect(await page.evaluate('window.notReloaded')).toBe(true);
      expect(await page.locator('input[name=total]:invalid').count()).toBe(1);
      expect(page.url()).toBe(`${served.url}/generate`);
      expect(count(inspectDb(file), 'select count(*) from jobs')).toBe(0);
    } finally {
      await served.stop();
    }
  });

  it('cancels a running job from its page: it stops, and none of its users land', async () => {
    const { db: file } = tempDb();
    const served = await startServe(['--worker', '--concurrency', '1', '--hash-iterations', VISIBLE_ITERATIONS, '--db', file]);
    try {
      const page = await browser.newPage();
      await page.goto(`${served.url}/generate`);
      await page.getByLabel('How many users').fill('500');
      await page.getByRole('button', { name: 'Generate' }).click();
      await page.waitForURL(`${served.url}/users`);
      await page.goto(`${served.url}/jobs/1`);
      await page.locator('[data-field="state"]', { hasText: 'running' }).waitFor();
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.waitForURL(`${served.url}/jobs/1`);
      await page.getByText('Job 1 is cancelled: it stops at its next progress point').waitFor();
      await page.locator('[data-field="state"]', { hasText: 'cancelled' }).waitFor();
      // The worker notices at its next progress point and abandons the job: its users never commit.
      await waitFor(() => /Task generate_users\[1\] abandoned/.test(served.cli.stderr()), 'the worker to abandon the job');
      const db = inspectDb(file);
      expect(db.prepare('select state from jobs where id = 1').pluck().get()).toBe('cancelled');
      expect(count(db, 'select count(*) from users')).toBe(0);
    } finally {
      await served.stop();
    }
  });
});
