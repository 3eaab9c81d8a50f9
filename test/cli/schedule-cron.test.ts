import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { count, inspectDb, runCli, startCli, stopCli, waitFor } from '../helpers.js';
import { backupFiles, backupsWritten, tempDatabase } from './backup-helpers.js';

describe('schedule backup --cron', () => {
  it('refuses an expression that is not cron with one line naming --cron, and makes nothing', async () => {
    const { dir, db: file } = await tempDatabase();
    const refused = await runCli(['schedule', 'backup', '--cron', 'every day', '--db', file]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe("usergen: error: --cron: not a valid cron expression: 'every day'\n");
    expect(fs.existsSync(path.join(dir, 'backups'))).toBe(false);
  });

  it('with a six-field (seconds) expression, backs up at its times, one job per slot, and stops on SIGTERM', async () => {
    const { dir, db: file } = await tempDatabase();
    const scheduler = startCli(['schedule', 'backup', '--cron', '*/2 * * * * *', '--db', file]);
    // The catch-up (no backup yet), then two slots of the expression.
    await waitFor(() => backupsWritten(scheduler) >= 3, 'three backups', 20_000);
    const exit = await stopCli(scheduler);

    expect(exit.stdout).toContain(`Backing up ${file} on cron '*/2 * * * * *' into ${path.join(dir, 'backups')}.`);
    expect(exit.stdout).toContain('No backup yet: backing up now.');
    const next = [...exit.stdout.matchAll(/Next backup at \d{4}-\d\d-\d\d \d\d:\d\d:(\d\d) UTC\./g)].map((match) => Number(match[1]));
    expect(next.length).toBeGreaterThanOrEqual(3);
    expect(next.filter((second) => second % 2 !== 0)).toEqual([]);

    const db = inspectDb(file);
    const keys = db.prepare("select unique_key from jobs where task = 'backup' and state = 'succeeded' order by id").pluck().all() as string[];
    const written = backupsWritten(scheduler);
    expect(keys).toHaveLength(written);
    // Every backup after the catch-up is the job of one cron time: an even second, on the second.
    const slots = keys.filter((key) => !key.includes('/catch-up:')).map((key) => Date.parse(key.slice('backup@'.length)));
    expect(slots.length).toBe(written - 1);
    expect(slots.filter((slot) => slot % 2_000 !== 0)).toEqual([]);
    expect(new Set(slots).size).toBe(slots.length);
    expect(count(db, 'select count(*) from backups')).toBe(written);
    expect(backupFiles(path.join(dir, 'backups'))).toHaveLength(written);
  });
});
