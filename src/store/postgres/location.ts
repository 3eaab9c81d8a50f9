import { UsageError } from '../../errors.js';

// Where a store's tables are: an SQLite file's path, or a PostgreSQL URL. A URL is shown without
// its password, everywhere (errors, logs, status, --json).

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

export function isPostgresUrl(location: string): boolean {
  return POSTGRES_URL.test(location);
}

/**
 * A PostgreSQL URL's password, wherever it is written: after the user (`user:password@`), or as a
 * `password` parameter (`?password=...`), which node-postgres and libpq accept too. '' when none.
 */
export function passwordOf(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.password !== '' ? decodeURIComponent(parsed.password) : (parsed.searchParams.get('password') ?? '');
  } catch {
    return '';
  }
}

/** `url` with no password in it, wherever it was written (see passwordOf). */
export function urlWithoutPassword(url: string): URL {
  const parsed = new URL(url);
  parsed.password = '';
  parsed.searchParams.delete('password');
  return parsed;
}

/** A PostgreSQL URL fit to print: its password replaced by `***`; anything else as it is. */
export function printableLocation(location: string): string {
  if (!isPostgresUrl(location)) return location;
  try {
    const url = new URL(location);
    if (url.password !== '') url.password = '***';
    if (url.searchParams.has('password')) url.searchParams.set('password', '***');
    return url.toString();
  } catch {
    // Not parseable: whatever follows `user:` up to `@`, or `password=` up to `&`, may be a password.
    return location.replace(/^(postgres(?:ql)?:\/\/[^:/@]*:)[^@]*@/i, '$1***@').replace(/([?&]password=)[^&]*/i, '$1***');
  }
}

/** Every way `url`'s password could appear in a message, replaced by `***`. */
export function withoutPassword(text: string, url: string): string {
  const password = passwordOf(url);
  if (password === '') return text;
  const forms = new Set([url, encodeURIComponent(password), password]);
  let out = text;
  for (const form of forms) out = out.split(form).join(form === url ? printableLocation(url) : '***');
  return out;
}

export const DEFAULT_PG_SCHEMA = 'usergen';

/**
 * A schema name as usergen accepts it: plain lowercase, so that it needs no quoting, and short
 * enough that its wake-up channel (`usergen_<schema>`) stays within PostgreSQL's 63 bytes; `pg_`
 * names are PostgreSQL's own.
 */
const SCHEMA_NAME = /^(?!pg_)[a-z_][a-z0-9_]{0,47}$/;

export function checkSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new UsageError(
      `--pg-schema must be a lowercase name of letters, digits and _ (at most 48 characters, not starting with pg_), not '${schema}'`,
    );
  }
  return schema;
}
