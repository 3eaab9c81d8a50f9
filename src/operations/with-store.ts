import { openStore, type OpenStoreOptions } from '../store/open.js';
import type { JobStore } from '../store/store.js';

/**
 * Opens the store at `location`, runs `work` on it, and closes it whatever happens. A storage
 * fault met on the way (disk full, damaged file) comes out as one error naming the database.
 */
export async function withStore<T>(location: string, options: OpenStoreOptions, work: (store: JobStore) => Promise<T>): Promise<T> {
  const store = await openStore(location, options);
  let failed = false;
  try {
    return await work(store);
  } catch (error) {
    failed = true;
    throw store.describeError(error);
  } finally {
    // Closing checkpoints the WAL, which fails too on a full disk: the first error is the one to tell.
    await store.close().catch((error: unknown) => {
      if (!failed) throw store.describeError(error);
    });
  }
}
