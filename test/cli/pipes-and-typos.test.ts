import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generate, runCli, startCli, startWorker, stopCli, tempDb } from '../helpers.js';

// What a person meets first at a shell: a pipe closed early, a mistyped --db, a bad --logfile,
// `usergen help <command>`.

describe('a closed stdout', () => {
  it.each([['status'], ['status', '--json'], ['list'], ['jobs'], ['job', '1']])('ends `%s` quietly, with a worker alive', async (...args) => {
    const { db: file } = tempDb();
    await generate(file, 50);
    const { worker } = await startWorker(file);
    const reader = startCli([...args, '--db', file]);
    // The reader goes away before the command writes (as `| head -3` does once it has its lines).
    reader.child.stdout!.destroy();
    const exit = await reader.exited;
    await stopCli(worker);

    expect(exit.stderr).toBe('');
    expect(exit.code).toBe(0);
  });
});

describe('a mistyped --db', () => {
  it.each([['list'], ['jobs'], ['job', '1'], ['status'], ['backups'], ['check'], ['purge', '--state', 'succeeded', '--older-than', '1d']])(
    '`%s` refuses a missing file and creates nothing',
    async (...args) => {
      const { dir } = tempDb();
      const typo = path.join(dir, 'usergne.db');
      const run = await runCli([...args, '--db', typo]);

      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`usergen: error: no usergen database at ${typo} (check --db or $USERGEN_DB; "usergen generate" creates one)\n`);
      expect(fs.readdirSync(dir)).toEqual([]);
    },
  );

  it('an existing empty file is not adopted by a command that only reads', async () => {
    const { dir, db: file } = tempDb();
    fs.writeFileSync(file, '');
    const run = await runCli(['list', '--db', file]);

    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`usergen: error: ${file} is an empty file, not a usergen database (check --db or $USERGEN_DB)\n`);
    expect(fs.readdirSync(dir)).toEqual(['usergen.db']);
    expect(fs.statSync(file).size).toBe(0);
  });

  it('generate still creates a new database', async () => {
    const { db: file } = tempDb();
    await generate(file, 50);
    expect((await runCli(['jobs', '--db', file])).code).toBe(0);
  });
});

describe('worker --logfile', () => {
  it('names the option and the file when it cannot be opened, and creates no database', async () => {
    const { dir, db: file } = tempDb();
    const log = path.join(dir, 'nope', 'w.log');
    const run = await runCli(['worker', '--drain', '--logfile', log, '--db', file]);

    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`usergen: error: --logfile ${log}: cannot open it for writing: folder ${path.dirname(log)} does not exist\n`);
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe('usergen help', () => {
  it('`help <command>` prints what `<command> --help` prints, exit 0', async () => {
    const help = await runCli(['help', 'generate']);
    const flag = await runCli(['generate', '--help']);

    expect(help.code).toBe(0);
    expect(help.stdout).toBe(flag.stdout);
    expect(help.stdout).toContain('Usage: usergen generate');
  });

  it('`help` alone lists the commands, exit 0', async () => {
    const help = await runCli(['help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('check [options]');
  });
});
