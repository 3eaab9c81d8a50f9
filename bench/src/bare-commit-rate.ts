import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';

// The reference the queue's own figures are judged against (npm run bench).

/** Autocommit INSERTs with better-sqlite3 alone, WAL and synchronous=FULL: the fsync-bound ceiling. */
export function bareCommitRate(count: number): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usergen-bench-'));
  const sqlite = new BetterSqlite3(path.join(dir, 'bare.db'));
  try {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.exec('create table t (id integer primary key, payload text)');
    const insert = sqlite.prepare('insert into t (payload) values (?)');
    const started = performance.now();
    for (let i = 0; i < count; i++) insert.run('{}');
    return Math.round((count * 1000) / (performance.now() - started));
  } finally {
    sqlite.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
