// setTimeout overflows past 2^31-1 ms (24.8 days) and then fires at once: wait in chunks.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<boolean> {
  return sleepUntil(Date.now() + ms, signal);
}

/** Resolves true at `time` (ms since the epoch), or false as soon as `signal` aborts. */
export async function sleepUntil(time: number, signal?: AbortSignal): Promise<boolean> {
  for (;;) {
    if (signal?.aborted) return false;
    const left = time - Date.now();
    if (left <= 0) return true;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.min(left, MAX_TIMER_MS));
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
