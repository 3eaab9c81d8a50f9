import type { BatchedCompletion } from './store.js';

// Completions of jobs that wrote nothing of their own, gathered by a store and written in one
// statement per batch: what each engine's batching shares.

/** A completion waiting for its batch: settled once the batch is written, or has failed. */
export interface PendingCompletion extends BatchedCompletion {
  resolve: (held: boolean) => void;
  reject: (error: unknown) => void;
}

/** What writing a batch came to: the ids it could mark, or why nothing of it was written. */
export type Written = { held: Set<number> } | { error: unknown };

/** Rejects the completions of jobs aborted meanwhile (they are not written); returns the others. */
export function liveCompletions(batch: readonly PendingCompletion[]): PendingCompletion[] {
  return batch.filter((item) => {
    const reason = item.abortedReason();
    if (reason) item.reject(reason);
    return !reason;
  });
}

/** Once the batch is committed (or failed): an aborted job's promise is rejected already, and stays so. */
export function settleCompletions(batch: readonly PendingCompletion[], written: Written): void {
  for (const item of batch) {
    if ('error' in written) item.reject(written.error);
    else item.resolve(written.held.has(item.jobId));
  }
}
