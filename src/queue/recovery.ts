import { thisHost } from '../host.js';
import type { JobStore, RecoveryError } from '../store/store.js';
import { isGoneHere } from './liveness.js';

// Getting back the jobs of workers that died: killed, or hung past their lease. Such a job goes
// back to the queue, its attempt counted; with no attempts left it fails instead, so a job that
// kills its worker every time cannot crash-loop the fleet.

/** A running job whose lease ran out: found by any worker's claim, on any host. */
export const LEASE_EXPIRED: RecoveryError = {
  name: 'LeaseExpiredError',
  message: 'worker {worker} stopped renewing its lease during attempt {attempt} (killed or hung)',
};

/** A running job of a worker of this host whose process is gone: found at once rather than when its lease runs out. */
export const WORKER_DIED: RecoveryError = {
  name: 'WorkerDiedError',
  message: 'worker {worker} died during attempt {attempt} (its process on this host is gone)',
};

/**
 * Workers of this host whose process is gone lose their jobs at once, as if their leases had
 * expired, and their rows. Returns how many jobs that put back or failed. Cheap when none died:
 * one read of this host's worker rows and one /proc read per row.
 */
export async function recoverDeadWorkers(store: JobStore, now = Date.now()): Promise<number> {
  const { boot_id, pid_namespace } = thisHost();
  if (boot_id === null || pid_namespace === null) return 0;
  const rows = await store.workersOnHost({ boot_id, pid_namespace });
  const dead = rows.filter((row) => isGoneHere(row)).map((row) => row.id);
  return dead.length === 0 ? 0 : store.recoverWorkers(dead, now, WORKER_DIED);
}
