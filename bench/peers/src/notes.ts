import type { PeersOptions } from './options.js';
import type { SystemName } from './system.js';

// What a reader must know to read the table fairly: each system's durability and settings, and
// what each row times. The table's marks point here.

export function notesFor(options: PeersOptions, machine: Record<string, string>) {
  const jobs = options.jobs.toLocaleString('en-US');
  const columnNotes: Partial<Record<SystemName, string>> = {
    'usergen-full':
      'usergen through its library (openQueue, defineTask, queue.worker) at its default durability, synchronous=FULL: ' +
      'an enqueue or a completion is fsynced before it returns (a claim is not: README, Durability).',
    'usergen-normal':
      'The same at --durability normal (synchronous=NORMAL in WAL mode): a commit survives a killed process, not a power cut, ' +
      'as for plainjob and the bare loop.',
    'usergen-pg-full':
      `usergen through its library on the same PostgreSQL server as graphile-worker (${machine.postgres ?? 'PostgreSQL 15'}), ` +
      'a database per measurement, at its default durability: its connections set synchronous_commit=on, so a commit waits for ' +
      "its WAL flush (the server's default here is off, for graphile-worker).",
    'usergen-pg-normal': 'The same at --durability normal: its connections set synchronous_commit=off, as graphile-worker runs.',
    plainjob:
      "On better-sqlite3 (the same build as usergen's); it sets WAL and synchronous=NORMAL itself. It has no concurrency option: " +
      'concurrency n is n of its workers on one queue in one process, each running one job at a time (its README scales with ' +
      'processes). Its add and addMany are synchronous, called in a plain loop. An idle worker looks for jobs every second (its ' +
      'default) and nothing wakes it.',
    bullmq:
      `On ${machine.redis ?? 'redis-server'} started with --save "" --appendonly no: no job reaches the disk. Its defaults ` +
      "otherwise (completed jobs are kept, as usergen's and plainjob's are).",
    'graphile-worker':
      `On ${machine.postgres ?? 'PostgreSQL 15'} with synchronous_commit=off (a commit does not wait for its WAL flush), a ` +
      'database per measurement, set as its performance page sets it for throughput: localQueue.size 500, ' +
      'completeJobBatchDelay 0, failJobBatchDelay 0, maxPoolSize max(10, concurrency + 1), NO_LOG_SUCCESS=1 (the trade-off it ' +
      'documents: a killed worker leaves up to 500 jobs locked, and its unwritten completions run again, once their locks ' +
      'expire). It deletes a job as it completes. 0.17.3 is its last version that runs on Node 20 (0.18 needs Node 22.18).',
    'graphile-worker-defaults':
      `The same server, graphile-worker at its defaults: no local queue, each completion written on its own, maxPoolSize 10 ` +
      '(NO_LOG_SUCCESS=1 still).',
    'bare-claim1':
      'better-sqlite3 alone, WAL, synchronous=NORMAL: a job table with a partial index on its queued jobs; concurrency n is n ' +
      'loops on one connection, each claiming 1 (or 50) jobs with one UPDATE ... RETURNING, running them in turn and marking ' +
      'them done in one transaction. No lease, heartbeat, retry or wake-up: the floor under an SQLite queue, not a queue.',
  };
  columnNotes['bare-claim50'] = columnNotes['bare-claim1'];
  const rowNotes: Record<string, string> = {
    'enqueue-one': `${jobs} jobs from one process, each awaited before the next; payload {"i": n} for every system.`,
    'enqueue-bulk':
      "Each system's bulk call, 1,000 jobs a call: usergen enqueueMany, plainjob addMany, BullMQ addBulk, graphile-worker " +
      'addJobs, the bare loop one transaction of INSERTs.',
    drain:
      `${jobs} jobs committed (in bulk, by another process) before the worker's process starts. The clock runs in that process ` +
      "from the call that starts the worker (connections opened before it, but graphile-worker's run() opens its own) to the " +
      "last job's completion committed (graphile-worker tells of a completion before it writes it: its drain ends when its " +
      'job table is empty).',
    pickup:
      `An idle worker (concurrency 1) in one process; ${options.pickups} jobs a run enqueued one at a time by another, each ` +
      'once the previous one completed and after a random pause of up to 10 ms (up to 1 s for plainjob, so that its poll ' +
      "cycle is sampled evenly). From the enqueue call's return (its commit) to the handler's first line, on CLOCK_MONOTONIC " +
      "in both processes; a worker told of the job before the producer's call returns (Redis, PostgreSQL's NOTIFY, the " +
      'wake file) shortens it, alike for each.',
    'rss-library':
      "Peak resident set (VmHWM) of the concurrency-10 drain's worker process: Node with its default flags, loading that " +
      "system's packages only. It counts SQLite's page cache for the SQLite systems, not the Redis or PostgreSQL server's memory.",
    'rss-command':
      '`usergen worker --concurrency 10 --tasks bench/src/noop-task.js`, started as installed (node --optimize-for-size ' +
      '--v8-pool-size=1, from its #! line), draining the same jobs.',
  };
  return { columnNotes, rowNotes };
}
