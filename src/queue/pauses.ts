import { UsageError } from '../errors.js';
import { iso } from '../format.js';
import type { JobStore } from '../store/store.js';

// A paused task: no worker on any machine claims its jobs (each engine's claim leaves them, read in
// the claim's own transaction), those running finish, and enqueue goes on. Kept in the database,
// so that every worker obeys the same pause, and resumed workers are woken at once.

export interface TaskPause {
  task: string;
  paused: boolean;
  /** Since when it has been paused (the first pause: pausing again keeps it); null when it runs. */
  paused_at: string | null;
  /** Whether this call changed it (false: it was paused, or running, already). */
  changed: boolean;
}

/** A task, or its name. */
export type TaskName = string | { readonly name: string };

export async function pauseTask(store: JobStore, task: TaskName, now = Date.now()): Promise<TaskPause> {
  return setPaused(store, nameOf(task), true, now);
}

export async function resumeTask(store: JobStore, task: TaskName, now = Date.now()): Promise<TaskPause> {
  return setPaused(store, nameOf(task), false, now);
}

async function setPaused(store: JobStore, task: string, paused: boolean, now: number): Promise<TaskPause> {
  const wasPaused = (await store.pausedTasks()).some((row) => row.task === task);
  const row = await store.setTaskPaused(task, paused, now);
  return { task, paused, paused_at: row.paused_at === null ? null : iso(row.paused_at), changed: wasPaused !== paused };
}

function nameOf(task: TaskName): string {
  const name = typeof task === 'string' ? task : task?.name;
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
    throw new UsageError(`a task to pause or resume is a task or its name (1 to 200 characters), got ${JSON.stringify(name) ?? typeof name}`);
  }
  return name;
}
