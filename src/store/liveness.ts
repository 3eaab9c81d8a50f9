import fs from 'node:fs';

// Whether a registered worker's process still runs, asked of the operating system. Only a worker
// registered on this host can be asked: the same boot (a pid means nothing after a reboot) and
// the same pid namespace (two containers sharing a volume see different processes under one pid).
// Anywhere else, and where there is no /proc (macOS), the worker's lease alone decides.

/** Where a worker runs, recorded with its row; nulls where it cannot be known. */
export interface ProcessIdentity {
  boot_id: string | null;
  /** `pid:[4026531836]`: the inode of the pid namespace. */
  pid_namespace: string | null;
  /** When the process started, in clock ticks since boot (field 22 of /proc/<pid>/stat): tells a reused pid apart. */
  start_ticks: number | null;
}

type Host = Pick<ProcessIdentity, 'boot_id' | 'pid_namespace'>;

// Fixed for the life of the process: read once.
let host: Host | undefined;

/** This host's boot and pid namespace, or nulls where there is no /proc. */
export function thisHost(): Host {
  host ??= {
    boot_id: readOrNull(() => fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()),
    pid_namespace: readOrNull(() => fs.readlinkSync('/proc/self/ns/pid')),
  };
  return host;
}

/** The identity to record for process `pid` of this host. */
export function identityOf(pid: number): ProcessIdentity {
  const here = thisHost();
  const stat = readStat(pid);
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
  const stat = readStat(worker.pid);
  if (stat === undefined) return !processExists(worker.pid);
  return stat.state === 'Z' || stat.state === 'X' || stat.startTicks !== worker.start_ticks;
}

interface Stat {
  state: string;
  startTicks: number;
}

/** /proc/<pid>/stat's state and start time; undefined when it cannot be read. */
function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so fields count from the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const startTicks = Number(fields[19]);
  return Number.isSafeInteger(startTicks) ? { state: fields[0] ?? '', startTicks } : undefined;
}

/**
 * Signal 0 checks existence without signalling. /proc/<pid> can be missing for a live process
 * (/proc mounted with hidepid, another user's process): only ESRCH says the pid is gone.
 */
/** Whether a process of this pid exists here (EPERM: another user's, alive). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function readOrNull(read: () => string): string | null {
  try {
    return read();
  } catch {
    return null;
  }
}
