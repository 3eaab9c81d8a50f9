import { checkedBy, checkStore, describeLocation } from '../store/open.js';
import type { CheckReport } from '../store/store.js';

export type { CheckReport };

export interface CheckOptions {
  /** The database to check (an SQLite file's path, or a postgres:// URL). */
  location: string;
  /** PostgreSQL: the schema of usergen's tables (default `usergen`). */
  pgSchema?: string | undefined;
  /** `full` (default): every page and index (`usergen check`); `quick`: skips the index cross-checks (a worker's start). */
  kind?: CheckReport['kind'];
}

/**
 * Checks every page of the database through a read-only connection of its own, so workers may
 * keep running. Damage is data (`ok: false` and the problems), for the caller to show and act on;
 * only a location that is not a usergen database at all (missing, a folder, another kind of file)
 * is refused, with a UserError saying which.
 */
export async function checkDatabase(options: CheckOptions): Promise<CheckReport> {
  return checkStore(options.location, options.kind ?? 'full', { pgSchema: options.pgSchema });
}

/** The database a check names (a URL without its password, and its schema), and what a full check of it does. */
export function describeCheck(options: Omit<CheckOptions, 'kind'>): { where: string; checked: string } {
  return { where: describeLocation(options.location, options), checked: checkedBy(options.location) };
}
