import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { ENDED_STATES, queueRetention, retentionLabel, setQueueRetention, type Retention } from '../../queue/retention.js';
import { withCommandDatabase } from '../context.js';
import { parseDuration } from '../parse.js';
import { printJson, printLine } from '../output.js';

// `retention`: the queue-wide default of how long ended jobs are kept, which every worker applies
// to the tasks it runs that have no retention of their own (defineTask's `retention`).

interface Flags {
  succeeded?: string;
  failed?: string;
  cancelled?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('retention')
    .description('show, or set, how long ended jobs are kept before the workers delete them (default: kept for ever)')
    .option('--succeeded <duration>', 'keep succeeded jobs this long after they end: 7d, 12h; keep: for ever')
    .option('--failed <duration>', 'keep failed jobs this long: 30d; keep: for ever')
    .option('--cancelled <duration>', 'keep cancelled jobs this long: 1d; keep: for ever')
    .option('--json', 'print the retention (ms per state, null: for ever) as JSON')
    .addHelpText('after', '\nA task defined with its own retention keeps its own. Unique keys stay spent after their jobs are deleted.')
    .action(async (flags: Flags, command: Command) => {
      const changes: Retention = {};
      for (const state of ENDED_STATES) {
        const text = flags[state];
        if (text === undefined) continue;
        if (text === '') throw new UsageError(`--${state} takes a duration (7d, 12h) or keep`);
        changes[state] = text === 'keep' ? null : parseDuration(text, `--${state}`);
      }
      const changing = Object.keys(changes).length > 0;
      const retention = await withCommandDatabase(command, (store) => (changing ? setQueueRetention(store, changes) : queueRetention(store)));
      if (flags.json) printJson(retention);
      else printLine(`${changing ? 'Retention is now' : 'Retention'}: ${retentionLabel(retention)}.`);
    });
}
