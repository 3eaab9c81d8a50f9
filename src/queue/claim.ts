import { claimOrder, type ClaimedJob, type ClaimOptions, type JobStore } from '../store/store.js';
import { LEASE_EXPIRED, recoverDeadWorkers } from './recovery.js';
import type { HeldBack } from '../store/limits.js';

/**
 * A worker's claim: up to `limit` ready jobs of its tasks, leased to it for `leaseMs`, in claim
 * order. The jobs of workers that died come back first and are claimed with the rest: those whose
 * lease ran out, which the claim sees; and, when it found nothing, those of workers of this host
 * whose process is gone (an idle worker's claim looks, once per poll or wake-up; a claim that
 * finds work costs nothing more).
 */
export async function claimJobs(store: JobStore, workerId: string, limit: number, leaseMs: number, options: ClaimOptions): Promise<ClaimedJob[]> {
  return (await claimWithLimits(store, workerId, limit, leaseMs, options)).jobs;
}

/** claimJobs, and what it left for the limits of limited tasks (a draining worker waits for those rather than stop). */
export async function claimWithLimits(
  store: JobStore,
  workerId: string,
  limit: number,
  leaseMs: number,
  options: ClaimOptions,
): Promise<{ jobs: ClaimedJob[]; heldBack: HeldBack | undefined }> {
  const first = await store.claim(workerId, limit, leaseMs, options);
  let { jobs } = first;
  // The jobs claimed are committed: a recovery that fails now must not lose them (they would wait
  // out their lease as this worker's, unrun). It is tried again at the next claim.
  try {
    const recovered = first.expired ? await store.recoverExpired(Date.now(), LEASE_EXPIRED) : 0;
    if ((recovered > 0 || (jobs.length === 0 && (await recoverDeadWorkers(store)) > 0)) && jobs.length < limit) {
      // The free slots the first claim filled are not free for limited jobs any more.
      const free = options.free === undefined ? undefined : Math.max(0, options.free - jobs.length);
      jobs = jobs.concat((await store.claim(workerId, limit - jobs.length, leaseMs, { ...options, free })).jobs);
    }
  } catch (error) {
    if (jobs.length === 0) throw error;
  }
  return { jobs: jobs.length > 1 ? jobs.sort(claimOrder) : jobs, heldBack: first.heldBack };
}
