import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineTask, openQueue } from '../../src/index.js';
import { ENGINES } from '../engines.js';
import { ROOT, runCli, tempDb, waitFor } from '../helpers.js';
import { inspect } from '../inspect.js';
import { databaseMade } from '../web/serve-helpers.js';

// The Queue handle of the library: its transaction, its workers' events, and what the command
// line sees of a worker that runs other tasks.

const note = defineTask({
  name: 'test_note',
  maxAttempts: 1,
  validate: (payload) => payload as { text: string },
  async handler({ text }) {
    return text;
  },
});

describe.each(ENGINES)('the Queue handle on $name', (engine) => {
  describe('queue.transaction', () => {
    it('refuses the queue itself inside the callback at once, instead of waiting for ever; nothing commits', async () => {
      const queue = await openQueue({ db: await engine.database() });
      try {
        const inside = queue.transaction(async (tx) => {
          await tx.enqueue(note, { text: 'through tx' });
          await queue.enqueue(note, { text: 'through the queue' });
        });
        await expect(inside).rejects.toThrow(/inside queue\.transaction\(\), use its tx/);
        expect(await queue.getJob(1)).toBeUndefined();
      } finally {
        await queue.close();
      }
    });
  });

  describe('worker events', () => {
    it('a listener that rejects is logged, and the worker goes on', async () => {
      const queue = await openQueue({ db: await engine.database() });
      try {
        await queue.enqueueMany(note, [{ text: 'a' }, { text: 'b' }]);
        const errors: string[] = [];
        const worker = queue.worker({
          tasks: [note],
          concurrency: 1,
          drain: true,
          logger: { debug() {}, info() {}, warn() {}, error: (line) => errors.push(line) },
        });
        worker.on('succeeded', async () => {
          throw new Error('listener broke');
        });
        const summary = await worker.run();
        expect(summary.succeeded).toBe(2);
        expect(errors).toEqual(["a 'succeeded' listener failed: listener broke", "a 'succeeded' listener failed: listener broke"]);
      } finally {
        await queue.close();
      }
    });
  });

  describe('a worker that runs other tasks', () => {
    it('is not waited for by generate --wait, which runs its job itself', async () => {
      const file = await engine.database();
      const queue = await openQueue({ db: file });
      const stop = new AbortController();
      const worker = queue.worker({ tasks: [note], concurrency: 1 });
      const running = worker.run(stop.signal);
      try {
        const db = await inspect(file);
        await waitFor(async () => (await db.count('select count(*) from workers')) === 1, 'the worker to register');
        const run = await runCli(['generate', '50', '--wait', '--db', file]);
        expect(run.code, run.stderr).toBe(0);
        expect(run.stdout).toContain('50 random users created with success!');
      } finally {
        stop.abort();
        await running;
        await queue.close();
      }
    });
  });

  describe('worker --tasks', () => {
    it('refuses a module whose task takes the name of another, before anything is created', async () => {
      const { dir } = tempDb();
      const file = await engine.database();
      const module = path.join(dir, 'clash.mjs');
      fs.writeFileSync(
        module,
        `import { defineTask } from '${path.join(ROOT, 'dist', 'queue', 'task.js')}';\n` +
          `export const mine = defineTask({ name: 'generate_users', validate: (p) => p, async handler() { return null; } });\n`,
      );
      const run = await runCli(['worker', '--drain', '--tasks', module, '--db', file]);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `usergen: error: ${module} defines a task named 'generate_users', as the built-in tasks do: task names must be unique\n`,
      );
      expect(await databaseMade(file)).toBe(false);
    });
  });
});
