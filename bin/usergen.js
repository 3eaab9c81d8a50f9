#!/usr/bin/env -S node --optimize-for-size --v8-pool-size=1
// --optimize-for-size: V8 keeps its heap small instead of growing it for speed. A worker draining
// no-op jobs peaked at 71 MiB resident with it and 97 MiB without, at the same rate (npm run bench).
// --v8-pool-size=1: one V8 background thread (compilation, GC) instead of four, about 1.5 MiB less.
// Hashing runs on libuv's thread pool (4 threads by default): size it to the machine before first use.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, (await import('node:os')).availableParallelism()));
await import('../dist/cli/main.js');
