import type { Command } from 'commander';
import { usersPage, type UsersPage } from '../../operations/users.js';
import { withCommandDatabase } from '../context.js';
import { formatInteger, formatTime, printJson, printLine, renderTable } from '../output.js';
import { parseInteger } from '../parse.js';

interface Flags {
  limit: string;
  offset: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('list')
    .description('list the users, in creation order (never their passwords)')
    .option('--limit <n>', 'how many to show, 1 to 10000', '50')
    .option('--offset <n>', 'how many to skip first', '0')
    .option('--json', 'print the page as JSON')
    .action(async (flags: Flags, command: Command) => {
      const limit = parseInteger(flags.limit, '--limit', 1, 10_000);
      const offset = parseInteger(flags.offset, '--offset', 0, Number.MAX_SAFE_INTEGER);
      const page = await withCommandDatabase(command, (store) => usersPage(store, { limit, offset }));
      if (flags.json) printJson(page);
      else await printUsersPage(page);
    });
}

async function printUsersPage({ users, total, offset }: UsersPage): Promise<void> {
  if (total === 0) {
    printLine('No users yet. Generate some with: usergen generate 50');
    return;
  }
  if (users.length === 0) {
    printLine(`No users from ${formatInteger(offset + 1)} on: there are ${formatInteger(total)}.`);
    return;
  }
  const rows = users.map((user) => [user.username, user.email, formatTime(user.date_joined)]);
  printLine(await renderTable(['Username', 'Email', 'Date joined (UTC)'], rows));
  printLine(`showing ${formatInteger(offset + 1)}-${formatInteger(offset + users.length)} of ${formatInteger(total)}`);
}
