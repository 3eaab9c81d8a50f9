import { processExists, processStat, thisHost, type Host } from '../host.js';

// Whether a registered worker's process still runs, asked of the operating system. Only a worker
// registered on this host can be asked: the same boot and the same pid namespace (two containers
// sharing a volume see different processes under one pid). Anywhere else, and where there is no
// /proc (macOS), the worker's lease alone decides.

/** Where a worker runs, recorded with its row; nulls where it cannot be known. */
export interface ProcessIdentity extends Host {
  /** When the process started, in clock ticks since boot (field 22 of /proc/<pid>/stat): tells a reused pid apart. */
  start_ticks: number | null;
}

/** The identity to record for process `pid` of this host. */
export function identityOf(pid: number): ProcessIdentity {
  const here = thisHost();
  const stat = processStat(pid);
  return { ...here, start_ticks: here.boot_id === null || stat === undefined ? null : stat.startTicks };
}

/**
 * True only when the worker is known to be gone: registered on this host, and its pid no longer
 * exists, is a zombie, or belongs to a process that started at another time (the pid was reused).
 * Anything unknown (another host, no /proc, a process this user may not look at) is not gone.
 */
export function isGoneHere(worker: ProcessIdentity & { pid: number }): boolean {
  const here = thisHost();
  if (here.boot_id === null || worker.boot_id !== here.boot_id || worker.pid_namespace !== here.pid_namespace) return false;
  if (worker.start_ticks === null || !(worker.pid > 0)) return false;
  const stat = processStat(worker.pid);
  if (stat === undefined) return !processExists(worker.pid);
  return stat.state === 'Z' || stat.state === 'X' || stat.startTicks !== worker.start_ticks;
}
