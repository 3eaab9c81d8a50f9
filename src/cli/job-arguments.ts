import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { JOB_STATES, type JobState } from '../store/schema.js';
import type { JobSelection, PayloadValue } from '../store/store.js';
import { parseChoice, parseInteger } from './parse.js';
import { collect } from './task-modules.js';

export function parseJobId(text: string): number {
  return parseInteger(text, 'job id', 1, Number.MAX_SAFE_INTEGER);
}

export function parseJobState(text: string): JobState {
  return parseChoice(text, '--state', JOB_STATES);
}

/**
 * `--payload customer=acme` (repeatable) as the fields a payload must have: a value that reads as
 * a JSON scalar is that (`5`, `true`, `"5"` for the text), anything else is text.
 */
export function parsePayloadFields(pairs: readonly string[]): Record<string, PayloadValue> | undefined {
  if (pairs.length === 0) return undefined;
  const fields: Record<string, PayloadValue> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals < 1) throw new UsageError(`--payload takes field=value (customer=acme), got '${pair}'`);
    fields[pair.slice(0, equals)] = payloadValue(pair.slice(equals + 1));
  }
  return fields;
}

function payloadValue(text: string): PayloadValue {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  } catch {
    // Not JSON: the text itself.
  }
  return text;
}

/** The options that select jobs, as `jobs`, `retry` and `cancel` take them. */
export function selectionOptions(command: Command): Command {
  return command
    .option('--state <state>', 'only jobs in this state: queued, running, succeeded, failed or cancelled')
    .option('--task <name>', 'only jobs of this task')
    .option(
      '--payload <field=value>',
      'only jobs whose payload has this top-level field and value (JSON if it reads as JSON: 5, true, \'"5"\'; repeatable)',
      collect,
      [],
    );
}

export interface SelectionFlags {
  state?: string;
  task?: string;
  payload: string[];
}

export function selectionOf(flags: SelectionFlags): JobSelection {
  return {
    state: flags.state === undefined ? undefined : parseJobState(flags.state),
    task: flags.task,
    payload: parsePayloadFields(flags.payload),
  };
}
