import fs from 'node:fs';

/** A process's peak resident memory (VmHWM), from /proc (Linux); null elsewhere. */
export function peakRssMiB(pid: number | 'self' = 'self'): number | null {
  try {
    const kib = Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return Number.isFinite(kib) ? +(kib / 1024).toFixed(1) : null;
  } catch {
    return null;
  }
}
