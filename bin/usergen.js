#!/usr/bin/env node
// Hashing runs on libuv's thread pool (4 threads by default): size it to the machine before first use.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, (await import('node:os')).availableParallelism()));
await import('../dist/cli/main.js');
