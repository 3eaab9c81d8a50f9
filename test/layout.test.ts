import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';
import { cyclesOf, importGraph, type ImportGraph } from './import-graph.js';

// The store seam, read off the source: SQL lives in the engines' folders only (src/store/sqlite/,
// src/store/postgres/), SQLite in the first, node-postgres in the second; the rest of the tree
// reaches an engine through src/store/ (the interface, the queries every engine shares through
// kysely's builder, and open.ts that picks the engine), and no module keeps state per open
// database in a map of its own.

const SRC = path.join(ROOT, 'src');
const SQLITE_STORE = path.join(SRC, 'store', 'sqlite');
const POSTGRES_STORE = path.join(SRC, 'store', 'postgres');
const inFolder = (file: string, dir: string) => file.startsWith(dir + path.sep);

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return entry.name.endsWith('.ts') ? [file] : [];
  });
}

/** The code of `file` without its comments (they may name SQL to explain why it is not there). */
function codeOf(file: string): string {
  return fs
    .readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:])\/\/.*$/gm, '$1');
}

// kysely.ts only hands the engines kysely's classes (CompiledQuery among them).
const KYSELY = path.join(SRC, 'store', 'kysely.ts');
const outside = sourceFiles(SRC).filter((file) => !inFolder(file, SQLITE_STORE) && !inFolder(file, POSTGRES_STORE) && file !== KYSELY);

// What SQL text, or a call of an engine's driver, looks like in TypeScript source.
const ENGINE_MARKS: Array<[string, RegExp]> = [
  ['a sql`` template', /\bsql\s*(<[^>]*>)?\s*`/],
  ['a raw query', /\bCompiledQuery\b|\.executeQuery\(/],
  ['better-sqlite3', /better-sqlite3/],
  ['node-postgres', /from\s+'pg'|import\('pg'\)/],
  ['a pragma', /\bpragma\b/i],
  ['an SQLite JSON function', /\bjson_(each|object|insert|extract|valid)\b/],
  ['SQL text', /['"`]\s*(select\s+[\w*(]|update\s+\w+\s+set\b|insert\s+into\b|delete\s+from\b|begin\s+immediate\b)/i],
];

describe('the store seam', () => {
  it('finds the marks it looks for in the engines themselves (the search works)', () => {
    const inside = [...sourceFiles(SQLITE_STORE), ...sourceFiles(POSTGRES_STORE)].map(codeOf).join('\n');
    for (const [what, mark] of ENGINE_MARKS) expect(mark.test(inside), what).toBe(true);
  });

  it("no SQL, no SQLite and no node-postgres call outside the engines' folders", () => {
    const found = outside.flatMap((file) =>
      ENGINE_MARKS.filter(([, mark]) => mark.test(codeOf(file))).map(([what]) => `${path.relative(ROOT, file)}: ${what}`),
    );
    expect(found).toEqual([]);
  });

  it('only src/store/ imports an engine; the rest goes through the interface', () => {
    const importers = outside
      .filter((file) => !file.startsWith(path.join(SRC, 'store') + path.sep))
      .filter((file) => /from\s+'[^']*\/(sqlite|postgres)\/[^']*'/.test(codeOf(file)))
      .map((file) => path.relative(ROOT, file));
    expect(importers).toEqual([]);
  });

  it('no module keeps a map or a set of its own at the top level (state per database belongs to its store)', () => {
    const found = sourceFiles(SRC).flatMap((file) =>
      codeOf(file)
        .split('\n')
        .filter((line) => /^(export\s+)?(const|let|var)\s+\w+(\s*:[^=]+)?\s*=\s*new\s+(Weak)?(Map|Set)\b/.test(line))
        .map((line) => `${path.relative(ROOT, file)}: ${line.trim()}`),
    );
    expect(found).toEqual([]);
  });
});

// The layers of src/, from the bottom up (DESIGN.md): a module imports its own layer or those below.
// errors.ts and format.ts, at the root, are below all of them; index.ts, the public entry, above.
const LAYERS = ['', 'store', 'queue', 'tasks', 'operations', 'web', 'cli', 'index.ts'];

function layerOf(root: string, file: string): number {
  const first = path.relative(root, file).split(path.sep)[0]!;
  const layer = LAYERS.indexOf(first);
  return layer === -1 ? 0 : layer;
}

function upwardImports(root: string, graph: ImportGraph): string[] {
  return [...graph].flatMap(([file, imports]) =>
    [...imports]
      .filter((imported) => layerOf(root, imported) > layerOf(root, file))
      .map((imported) => `${path.relative(root, file)} -> ${path.relative(root, imported)}`),
  );
}

describe('the import graph of src/', () => {
  const graph = importGraph(SRC);

  it('finds imports of every kind, and the cycles and upward imports they make (the search works)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usergen-imports-'));
    try {
      fs.mkdirSync(path.join(dir, 'store'));
      fs.mkdirSync(path.join(dir, 'queue'));
      fs.writeFileSync(path.join(dir, 'queue', 'a.ts'), "import type { B } from './b.js';\nexport type A = B;\n");
      fs.writeFileSync(path.join(dir, 'queue', 'b.ts'), "export * from './c.js';\nexport type B = string;\n");
      fs.writeFileSync(path.join(dir, 'queue', 'c.ts'), "// import './d.js' (a comment)\nexport const c = () => import('./a.js');\n");
      fs.writeFileSync(path.join(dir, 'store', 'd.ts'), "import { A } from '../queue/a.js';\n");
      const found = importGraph(dir);
      expect(cyclesOf(found).map((cycle) => cycle.map((file) => path.relative(dir, file)))).toEqual([['queue/a.ts', 'queue/b.ts', 'queue/c.ts']]);
      expect(upwardImports(dir, found)).toEqual(['store/d.ts -> queue/a.ts']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has no import cycle, type imports included', () => {
    expect(cyclesOf(graph).map((cycle) => cycle.map((file) => path.relative(SRC, file)))).toEqual([]);
  });

  it('has no import that points up a layer', () => {
    expect(upwardImports(SRC, graph)).toEqual([]);
  });
});
