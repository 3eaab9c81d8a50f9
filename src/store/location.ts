import { UsageError } from '../errors.js';

// Where a store's tables are: an SQLite file's path, or a PostgreSQL URL. A URL is shown without
// its password, everywhere (errors, logs, status, --json).

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

export function isPostgresUrl(location: string): boolean {
  return POSTGRES_URL.test(location);
}

/** A PostgreSQL URL fit to print: its password replaced by `***`; anything else as it is. */
export function printableLocation(location: string): string {
  if (!isPostgresUrl(location)) return location;
  try {
    const url = new URL(location);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    // Not parseable: whatever follows `user:` up to `@` may be a password.
    return location.replace(/^(postgres(?:ql)?:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
  }
}

/** Every way `url`'s password could appear in a message, replaced by `***`. */
export function withoutPassword(text: string, url: string): string {
  let password: string;
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    return text;
  }
  if (password === '') return text;
  const encoded = new URL(url).password;
  return text.split(url).join(printableLocation(url)).split(encoded).join('***').split(password).join('***');
}

export const DEFAULT_PG_SCHEMA = 'usergen';

/** A schema name as usergen accepts it: plain lowercase, so that it needs no quoting anywhere. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function checkSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new UsageError(`--pg-schema must be a lowercase name of letters, digits and _ (at most 63 characters), not '${schema}'`);
  }
  return schema;
}
