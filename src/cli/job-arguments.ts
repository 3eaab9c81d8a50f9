import { JOB_STATES, type JobState } from '../store/schema.js';
import { parseChoice, parseInteger } from './parse.js';

export function parseJobId(text: string): number {
  return parseInteger(text, 'job id', 1, Number.MAX_SAFE_INTEGER);
}

export function parseJobState(text: string): JobState {
  return parseChoice(text, '--state', JOB_STATES);
}
