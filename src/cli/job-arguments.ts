import type { Kysely } from 'kysely';
import { JOB_STATES, type Database, type JobRow, type JobState } from '../db/schema.js';
import { UserError } from '../errors.js';
import { getJob } from '../queue/store.js';
import { parseChoice, parseInteger } from './parse.js';

export function parseJobId(text: string): number {
  return parseInteger(text, 'job id', 1, Number.MAX_SAFE_INTEGER);
}

export function parseJobState(text: string): JobState {
  return parseChoice(text, '--state', JOB_STATES);
}

/** The job, or a UserError naming the id that does not exist. */
export async function requireJob(db: Kysely<Database>, id: number): Promise<JobRow> {
  const job = await getJob(db, id);
  if (!job) throw new UserError(`no job ${id}`);
  return job;
}
