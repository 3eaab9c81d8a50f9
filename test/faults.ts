import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { onTestFinished } from 'vitest';
import { wakeFileOf } from '../src/store/sqlite/wake.js';

// Real files and filesystems in trouble, for the fault tests: a tiny tmpfs that can be filled or
// mounted read-only (mounting needs root, which CI has), and pages of a file overwritten.

function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new Error(`${what} needs root (it mounts a small tmpfs); run the tests as root, as CI does`);
  }
}

/** A folder on a tmpfs of `sizeKb`, unmounted when the test ends; its database path `db`. */
export function smallDisk(sizeKb: number): { dir: string; db: string } {
  requireRoot('a full-disk test');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usergen-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k,mode=0700`, 'tmpfs', dir]);
  const db = path.join(dir, 'usergen.db');
  onTestFinished(() => {
    fs.rmSync(wakeFileOf(db), { force: true });
    execFileSync('umount', ['-l', dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, db };
}

/** Fills the filesystem holding `dir` to the last byte; returns a function that frees it again. */
export function fillDisk(dir: string): () => void {
  const filler = path.join(dir, 'filler');
  const fd = fs.openSync(filler, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (let size = chunk.length; size >= 1; size = Math.floor(size / 2)) {
      for (;;) {
        try {
          fs.writeSync(fd, chunk, 0, size);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          break;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return () => fs.rmSync(filler);
}

/** Remounts the tmpfs at `dir` read-only (or read-write again). */
export function remount(dir: string, mode: 'ro' | 'rw'): void {
  execFileSync('mount', ['-o', `remount,${mode}`, dir]);
}

/**
 * Overwrites `pages` leaf pages from the middle of `table` in the closed database `file` with
 * random bytes, as a failing disk or a stray write would; returns their page numbers.
 */
export function damagePages(file: string, table: string, pages = 3): number[] {
  const reader = new BetterSqlite3(file, { readonly: true });
  let leaves: number[];
  let pageSize: number;
  try {
    leaves = reader.prepare("select pageno from dbstat where name = ? and pagetype = 'leaf' order by pageno").pluck().all(table) as number[];
    pageSize = reader.pragma('page_size', { simple: true }) as number;
  } finally {
    reader.close();
  }
  if (leaves.length < pages + 2) throw new Error(`${table} has only ${leaves.length} leaf pages: too few to damage ${pages} in the middle`);
  const start = Math.floor((leaves.length - pages) / 2);
  const damaged = leaves.slice(start, start + pages);
  const fd = fs.openSync(file, 'r+');
  try {
    for (const page of damaged) fs.writeSync(fd, randomBytes(pageSize), 0, pageSize, (page - 1) * pageSize);
  } finally {
    fs.closeSync(fd);
  }
  return damaged;
}
