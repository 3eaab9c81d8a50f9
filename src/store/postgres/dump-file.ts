import { readHead } from '../file-head.js';

/** What every custom-format archive begins with. */
const ARCHIVE_MAGIC = 'PGDMP';

/** Whether `file` is a pg_dump archive (custom format), by its first bytes; false for anything unreadable. */
export function isDumpFile(file: string): boolean {
  return readHead(file, ARCHIVE_MAGIC.length) === ARCHIVE_MAGIC;
}
