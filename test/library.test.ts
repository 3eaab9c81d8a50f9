import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ROOT } from './helpers.js';

// usergen as a library, as a user's project gets it: the tarball `npm pack` makes, unpacked into
// node_modules/usergen of a new project (its dependencies linked from this checkout's, where
// `npm install` would fetch them and compile better-sqlite3), and a TypeScript program that
// imports only from 'usergen', compiled with tsc --strict and run.

const PROGRAM = `
import { defineTask, openQueue, type JobEvent } from 'usergen';

interface Greeting {
  name: string;
}

const greet = defineTask<Greeting, string>({
  name: 'greet',
  validate(payload) {
    const { name } = payload as Partial<Greeting>;
    if (typeof name !== 'string') throw new Error('name must be a string');
    return { name };
  },
  async handler({ name }) {
    return \`hello, \${name}\`;
  },
});

const queue = await openQueue({ db: 'app.db' });
const one = await queue.enqueue(greet, { name: 'ada' });
const many = await queue.enqueueMany(greet, [{ name: 'alan' }, { name: 'grace' }]);
// @ts-expect-error: the payload of greet has a name
await queue.enqueue(greet, { nom: 'x' }).catch(() => undefined);

const worker = queue.worker({ tasks: [greet], concurrency: 2, drain: true });
const events: JobEvent[] = [];
worker.on('succeeded', (event) => events.push(event));
const summary = await worker.run();
const done = await queue.getJob(many[1]!);
await queue.close();
console.log(JSON.stringify({ one: one.id, many, summary, results: events.map((event) => event.result).sort(), last: done?.state }));
`;

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** A new project with the packed usergen in node_modules; removed when the test passes. */
function projectWithPackedUsergen(): string {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'usergen-project-'));
  onTestFinished(({ task }) => {
    if (task.result?.state === 'fail') console.error(`project kept in ${project}`);
    else fs.rmSync(project, { recursive: true, force: true });
  });
  const tarball = run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', project], ROOT).trim().split('\n').at(-1)!;
  const modules = path.join(project, 'node_modules');
  fs.mkdirSync(path.join(modules, 'usergen'), { recursive: true });
  execFileSync('tar', ['-xzf', path.join(project, tarball), '-C', path.join(modules, 'usergen'), '--strip-components=1']);
  const { dependencies } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const name of [...Object.keys(dependencies), '@types/node', '@types/better-sqlite3']) {
    const target = path.join(modules, name);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules', name), target);
  }
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  return project;
}

describe('usergen as a library', () => {
  it('a TypeScript program importing only from usergen compiles under --strict and runs a worker in-process', () => {
    const project = projectWithPackedUsergen();
    fs.writeFileSync(path.join(project, 'program.ts'), PROGRAM);
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const flags = ['--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--outDir', 'out'];
    run(process.execPath, [tsc, ...flags, 'program.ts'], project);
    const output = JSON.parse(run(process.execPath, ['out/program.js'], project)) as Record<string, unknown>;

    expect(output).toEqual({
      one: 1,
      many: [2, 3],
      summary: { succeeded: 3, failed: 0, retried: 0, released: 0 },
      results: ['hello, ada', 'hello, alan', 'hello, grace'],
      last: 'succeeded',
    });

    // The @ts-expect-error line is what the compiler must refuse: without it, the program fails to compile.
    fs.writeFileSync(path.join(project, 'program.ts'), PROGRAM.replace(/^\/\/ @ts-expect-error.*$/m, ''));
    expect(() => run(process.execPath, [tsc, ...flags, 'program.ts'], project)).toThrow(/nom/);
  });

  it('importing usergen loads none of the command line\'s packages', () => {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = fs.readFileSync(file, 'utf8');
      // Static imports and re-exports only: a dynamic import() is loaded only when called.
      for (const [, specifier] of source.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gm)) {
        if (specifier!.startsWith('.')) visit(path.resolve(path.dirname(file), specifier!));
        else packages.add(specifier!.startsWith('@') ? specifier!.split('/').slice(0, 2).join('/') : specifier!.split('/')[0]!);
      }
    };
    visit(path.join(ROOT, 'dist', 'index.js'));
    expect(seen.size).toBeGreaterThan(5);
    for (const cliPackage of ['commander', 'ora', 'cli-table3', '@faker-js/faker']) expect(packages).not.toContain(cliPackage);
  });
});
