import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers.js';
import { tempDatabase } from './backup-helpers.js';

describe('backups in a narrow terminal', () => {
  it('fits 80 columns; --wide shows every column and the full path', async () => {
    const { dir, db: file } = await tempDatabase();
    const made: string[] = [];
    for (const args of [[], [], ['--dir', path.join(dir, 'a-folder-with-a-long-name-for-its-backups')]]) {
      const run = await runCli(['backup', '--json', '--db', file, ...args]);
      expect(run.code, run.stderr).toBe(0);
      made.push((JSON.parse(run.stdout) as { file: string }).file);
    }
    const env = { COLUMNS: '80' };

    const narrow = await runCli(['backups', '--db', file], { env });
    expect(narrow.code, narrow.stderr).toBe(0);
    const lines = narrow.stdout.trimEnd().split('\n');
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);
    // A file in the listed folder goes by its name, in full.
    for (const backup of made.slice(0, 2)) expect(narrow.stdout).toContain(path.basename(backup));

    const wide = await runCli(['backups', '--wide', '--db', file], { env });
    expect(wide.code, wide.stderr).toBe(0);
    for (const backup of made) expect(wide.stdout).toContain(backup);
    expect(wide.stdout).toContain('Time (UTC)');
    expect(Math.max(...wide.stdout.split('\n').map((line) => line.length))).toBeGreaterThan(80);
  });
});
