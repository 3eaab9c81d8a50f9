import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { isFinalState, purgeJobs } from '../../queue/steering.js';
import { FINAL_STATES } from '../../store/store.js';
import { withCommandDatabase } from '../context.js';
import { parseJobState } from '../job-arguments.js';
import { formatInteger, printJson, printLine } from '../output.js';
import { parseDuration } from '../parse.js';

export function register(program: Command): void {
  program
    .command('purge')
    .description('delete jobs that ended long enough ago (their users stay)')
    .requiredOption('--state <state>', 'succeeded, failed or cancelled')
    .requiredOption('--older-than <duration>', 'that ended at least this long ago: 7d, 12h, 0s (all)')
    .option('--json', 'print the count as JSON')
    .action(async (flags: { state: string; olderThan: string; json?: boolean }, command: Command) => {
      const state = parseJobState(flags.state);
      if (!isFinalState(state)) {
        throw new UsageError(`--state must be one of ${FINAL_STATES.join(', ')}: only jobs that ended can be purged`);
      }
      const olderThanMs = parseDuration(flags.olderThan, '--older-than');
      const purged = await withCommandDatabase(command, (store) => purgeJobs(store, { state, olderThanMs }));
      if (flags.json) printJson(purged);
      else printLine(`Deleted ${formatInteger(purged.deleted)} ${state} job(s).`);
    });
}
