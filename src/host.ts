import fs from 'node:fs';

// What the operating system says of this host and its processes, where there is a /proc (Linux):
// read by the queue to tell a dead worker, and by the store to tell an abandoned temporary file.

/** This host, as a worker's row records it: the boot (a pid means nothing after a reboot) and the pid namespace. */
export interface Host {
  boot_id: string | null;
  /** `pid:[4026531836]`: the inode of the pid namespace. */
  pid_namespace: string | null;
}

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

export interface ProcessStat {
  state: string;
  startTicks: number;
}

/** /proc/<pid>/stat's state and start time; undefined when it cannot be read. */
export function processStat(pid: number): ProcessStat | undefined {
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
 * Whether a process of this pid exists here (EPERM: another user's, alive). Signal 0 checks
 * existence without signalling; /proc/<pid> can be missing for a live process (/proc mounted with
 * hidepid, another user's process): only ESRCH says the pid is gone.
 */
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
