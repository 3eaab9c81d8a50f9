import { describe, expect, it } from 'vitest';
import { checkSchemaName, passwordOf, printableLocation, urlWithoutPassword, withoutPassword } from '../../src/store/postgres/location.js';

// A PostgreSQL URL's password never printed, wherever the URL holds it.

describe('a PostgreSQL URL', () => {
  it('is printed without its password, after the user or as ?password=', () => {
    expect(printableLocation('postgres://u:s3cret@h:5432/db')).toBe('postgres://u:***@h:5432/db');
    expect(printableLocation('postgres://u@h/db?password=s3cret&sslmode=disable')).toBe('postgres://u@h/db?password=***&sslmode=disable');
    expect(printableLocation('/tmp/usergen.db')).toBe('/tmp/usergen.db');
  });

  it('has its password found, and taken out of messages and of the URL given to programs', () => {
    expect(passwordOf('postgres://u:p%40ss@h/db')).toBe('p@ss');
    expect(passwordOf('postgres://u@h/db?password=s3cret')).toBe('s3cret');
    const url = 'postgres://u@h/db?password=s3cret';
    expect(withoutPassword(`cannot use ${url}: refused (s3cret)`, url)).toBe('cannot use postgres://u@h/db?password=***: refused (***)');
    expect(urlWithoutPassword(url).href).toBe('postgres://u@h/db');
    expect(urlWithoutPassword('postgres://u:s3cret@h/db').href).toBe('postgres://u@h/db');
  });

  it("takes a schema name its wake-up channel can carry, and none of PostgreSQL's own", () => {
    expect(checkSchemaName('a'.repeat(48))).toBe('a'.repeat(48));
    expect(() => checkSchemaName('a'.repeat(49))).toThrow('at most 48');
    expect(() => checkSchemaName('pg_jobs')).toThrow('pg_');
  });
});
