import fs from 'node:fs';

/** The first `length` bytes of `file` as text; '' for anything unreadable. */
export function readHead(file: string, length: number): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const head = Buffer.alloc(length);
      return head.subarray(0, fs.readSync(fd, head, 0, length, 0)).toString('latin1');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}
