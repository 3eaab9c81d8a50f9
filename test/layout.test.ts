import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

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
