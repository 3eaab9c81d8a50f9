import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, inject, onTestFinished } from 'vitest';
import { ROOT, waitFor } from './helpers.js';
import { CHROMIUM } from './install-chromium.js';

// Real-browser tests: Debian's chromium driven by playwright-core. test/install-chromium.ts (the
// global setup) installs chromium once a run when it is missing; a problem it met fails every
// browser test with its reason.

// No sandbox: the tests run as root, where chromium refuses to start sandboxed. The rest keep a
// headless test browser from calling home or updating itself during a run.
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The README's screenshots: written by saveScreenshot when USERGEN_SCREENSHOTS=1; not shipped. */
export const SCREENSHOTS = path.join(ROOT, 'docs', 'screenshots');

export interface BrowserSession {
  /** A page in a fresh context (its own cookies and storage), closed when the test ends. */
  newPage(): Promise<Page>;
}

/**
 * One chromium for the calling test file, launched before its first test and closed after its
 * last; call it at the top level of the file (it registers beforeAll and afterAll).
 */
export function useBrowser(): BrowserSession {
  // Why there is no browser, thrown by every newPage(): each browser test fails with the reason
  // (a failed beforeAll would only mark them skipped).
  let browser: Browser | Error | undefined;
  let owned: OwnedProcesses | undefined;
  beforeAll(async () => {
    const problem = inject('chromiumProblem');
    if (problem) {
      browser = new Error(problem);
      return;
    }
    // Chromium keeps crash reports under $XDG_CONFIG_HOME (else ~/.config): a folder of its own
    // keeps them out of the user's home, and marks every process this browser starts.
    const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'usergen-chromium-'));
    const env = { ...process.env, XDG_CONFIG_HOME: configDir };
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, env });
    } catch (error) {
      fs.rmSync(configDir, { recursive: true, force: true });
      browser = new Error(`chromium did not start: ${String(error)}`);
      return;
    }
    owned = ownedProcesses(configDir);
  }, 60_000);
  afterAll(async () => {
    if (browser instanceof Error || !browser || !owned) return;
    await browser.close();
    await expectAllExited(owned);
  });
  return {
    async newPage() {
      if (browser instanceof Error) throw new Error(browser.message);
      if (!browser) throw new Error('no browser: call useBrowser() at the top level of the test file');
      const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
      const page = await context.newPage();
      onTestFinished(async ({ task }) => {
        try {
          if (task.result?.state === 'fail' && !page.isClosed()) {
            const file = await saveScreenshot(page, 'failed', fs.mkdtempSync(path.join(os.tmpdir(), 'usergen-page-')));
            console.error(`page ${page.url()} at the failure: ${file}`);
          }
        } finally {
          await context.close();
        }
      });
      return page;
    },
  };
}

/**
 * Saves a PNG of `page` as `<name>.png` in `dir`: by default docs/screenshots (which the README
 * links to) when USERGEN_SCREENSHOTS=1, else a temporary folder, so that an ordinary test run does
 * not rewrite tracked files. Returns the file's path.
 */
export async function saveScreenshot(page: Page, name: string, dir = defaultScreenshotDir()): Promise<string> {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`screenshot name ${JSON.stringify(name)}: use a-z, 0-9 and -`);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  return file;
}

function defaultScreenshotDir(): string {
  return process.env.USERGEN_SCREENSHOTS === '1' ? SCREENSHOTS : path.join(os.tmpdir(), 'usergen-screenshots');
}

interface OwnedProcesses {
  configDir: string;
  /** Playwright starts the browser as the leader of a new process group: its pid. */
  group: string | undefined;
}

// The processes of one browser: its process group (the browser, zygotes, renderers, utilities:
// these start with environments of their own) and whatever inherited its environment (crashpad's
// handlers, which daemonize out of the group). Read from /proc; elsewhere nothing is checked.
function ownedProcesses(configDir: string): OwnedProcesses {
  const leader = liveProcesses().find((p) => p.env.includes(`XDG_CONFIG_HOME=${configDir}\0`) && p.pid === p.group);
  return { configDir, group: leader?.pid };
}

function running({ configDir, group }: OwnedProcesses): string[] {
  return liveProcesses()
    .filter((p) => p.group === group || p.env.includes(`XDG_CONFIG_HOME=${configDir}\0`))
    .map((p) => `${p.pid} ${p.command}`);
}

/** Live processes (not zombies): pid, process group, command name, environment. */
function liveProcesses(): Array<{ pid: string; group: string; command: string; env: string }> {
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  return pids.flatMap((pid) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z') return [];
      const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      return [{ pid, group: group!, command, env: fs.readFileSync(`/proc/${pid}/environ`, 'latin1') }];
    } catch {
      return []; // gone meanwhile, or another user's
    }
  });
}

// browser.close() waits for the browser process only; its children exit just after it (measured:
// all of them within milliseconds). One that outlived it would run on after the test file: it
// fails the file, and is killed.
async function expectAllExited(owned: OwnedProcesses): Promise<void> {
  try {
    await waitFor(() => running(owned).length === 0, "chromium's processes to exit", 5_000);
  } catch {
    const left = running(owned);
    for (const entry of left) {
      try {
        process.kill(Number(entry.split(' ')[0]), 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    if (left.length > 0)
      throw new Error(`chromium left ${left.length} process(es) running after the browser closed (now killed): ${left.join(', ')}`);
  } finally {
    fs.rmSync(owned.configDir, { recursive: true, force: true });
  }
}
