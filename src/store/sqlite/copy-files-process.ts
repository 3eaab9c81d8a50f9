import fs from 'node:fs';

// Run as a child process by copyDatabaseFiles: `node copy-files-process.js <from> <to> [<from> <to>]`.
// Copies each file's bytes to a new file (created 0600, never over an existing one), fsynced.
// Exits 1 with one line on stderr, having removed what it wrote.

function copyPrivately(from: string, to: string): void {
  const output = fs.openSync(to, 'wx', 0o600);
  try {
    const input = fs.openSync(from, 'r');
    try {
      const buffer = Buffer.allocUnsafe(1 << 20);
      for (;;) {
        const read = fs.readSync(input, buffer, 0, buffer.length, null);
        if (read === 0) break;
        for (let done = 0; done < read; ) done += fs.writeSync(output, buffer, done, read - done);
      }
    } finally {
      fs.closeSync(input);
    }
    fs.fsyncSync(output);
  } finally {
    fs.closeSync(output);
  }
}

const pairs = process.argv.slice(2);
const written: string[] = [];
try {
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    written.push(pairs[i + 1]!);
    copyPrivately(pairs[i]!, pairs[i + 1]!);
  }
} catch (error) {
  for (const to of written) fs.rmSync(to, { force: true });
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 1;
}
