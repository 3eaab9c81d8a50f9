import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Client } from 'pg';
import { UserError } from '../../errors.js';
import { passwordOf, printableLocation, urlWithoutPassword, withoutPassword } from './location.js';
import { MissingProgram, runProgram } from '../programs.js';
import type { BackupCopy } from '../store.js';
import { fsyncPath, temporaryNameOf } from '../temporary-files.js';
import { describePgError } from './faults.js';
import { PG_SCHEMA_VERSION } from './migrations/index.js';
import { describeConnectError, type OpenedPg } from './open.js';

// Backups of a PostgreSQL schema: pg_dump archives (custom format) of usergen's schema alone,
// checked with pg_restore --list, and restores of them with pg_restore.

const MISSING = {
  why: 'backups of a PostgreSQL database are written and restored by the PostgreSQL client programs',
  install: 'apt-get install postgresql-client-15',
};

/** The tables every usergen schema has: an archive without their data is not a backup of one. */
const TABLES = ['usergen_schema', 'jobs', 'workers', 'users', 'backups'];

/**
 * Runs pg_dump or pg_restore on the database `url` names (when given). The password goes in their
 * environment, never on their command line (`ps` shows that to every user of the machine), and
 * never in what their errors are quoted as.
 */
function runPg(program: 'pg_dump' | 'pg_restore', args: string[], url?: string, onStdout?: (chunk: Buffer) => void): Promise<void> {
  const env = { ...process.env };
  const all = [...args];
  if (url !== undefined) {
    const password = passwordOf(url);
    if (password !== '') env.PGPASSWORD = password;
    all.push('--no-password', `--dbname=${urlWithoutPassword(url).href}`);
  }
  const scrub = (text: string) => (url === undefined ? text : withoutPassword(text, url));
  return runProgram(program, all, { env, onStdout, missing: MISSING, scrub });
}

/**
 * Dumps usergen's schema to `file` (0600, checked with pg_restore --list, fsynced, renamed into
 * place) while workers keep writing. The users and jobs the copy holds are counted in the dump's
 * own snapshot: a REPEATABLE READ transaction exports it and stays open while pg_dump --snapshot
 * copies it, so the counts are exactly the archive's without reading it back. pg_dump cannot
 * change what it copies, so the backup's own job (`jobId`, running) is marked succeeded at restore
 * instead: a row naming this file and the job is committed before the snapshot (restoreDump).
 */
export async function writeDump(opened: OpenedPg, file: string, jobId: number): Promise<BackupCopy> {
  const { pool, schema: s, url } = opened;
  const temporary = temporaryNameOf(file);
  const client = await pool.connect();
  let row: number | undefined;
  let broken = false;
  try {
    // Created 0600 before pg_dump opens it: never readable by others, even while it is written.
    fs.closeSync(fs.openSync(temporary, 'wx', 0o600));
    // Rows of dumps whose job no longer runs: their process was killed mid-dump.
    await client.query(
      `delete from ${s}.backups_in_progress b where not exists (select 1 from ${s}.jobs j where j.id = b.job_id and j.state = 'running')`,
    );
    const inserted = await client.query<{ id: number }>(
      `insert into ${s}.backups_in_progress (file, job_id, started_at) values ($1, $2, $3) returning id`,
      [file, jobId, Date.now()],
    );
    row = inserted.rows[0]!.id;
    let counts: { users: number; jobs: number };
    await client.query('begin isolation level repeatable read read only');
    try {
      const { rows } = await client.query<{ snapshot: string }>('select pg_export_snapshot() as snapshot');
      const found = await client.query<{ users: string; jobs: string }>(
        `select (select count(*) from ${s}.users) as users, (select count(*) from ${s}.jobs) as jobs`,
      );
      counts = { users: Number(found.rows[0]!.users), jobs: Number(found.rows[0]!.jobs) };
      await runPg('pg_dump', ['--format=custom', `--schema=${s}`, `--snapshot=${rows[0]!.snapshot}`, `--file=${temporary}`], url);
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => {
        broken = true;
      });
      throw error;
    }
    const archived = await listArchive(temporary);
    if (archived !== s) throw new UserError(`pg_dump wrote an archive of schema ${archived ?? '(none)'}, not of ${s}`);
    fsyncPath(temporary);
    fs.renameSync(temporary, file);
    fsyncPath(path.dirname(file));
    return { sizeBytes: fs.statSync(file).size, ...counts };
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw describePgError(error, url, s);
  } finally {
    if (row !== undefined) {
      await client.query(`delete from ${s}.backups_in_progress where id = $1`, [row]).catch(() => {
        broken = true;
      });
    }
    client.release(broken);
  }
}

/**
 * The schema a pg_dump archive holds usergen's tables of, read off its table of contents
 * (pg_restore --list, which fails on a file whose header or contents list cannot be read);
 * undefined when it holds no usergen schema.
 */
async function listArchive(file: string): Promise<string | undefined> {
  let list = '';
  await runPg('pg_restore', ['--list', file], undefined, (chunk) => (list += chunk.toString('utf8'))).catch(unusable(file));
  // `215; 1259 16390 TABLE DATA usergen jobs postgres`: a table's rows, by schema and name.
  const data = new Map<string, Set<string>>();
  for (const [, schema, table] of list.matchAll(/^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) /gm)) {
    if (!data.has(schema!)) data.set(schema!, new Set());
    data.get(schema!)!.add(table!);
  }
  return [...data].find(([, tables]) => TABLES.every((table) => tables.has(table)))?.[0];
}

/** pg_restore's failure to read `file` for what it means: not a whole archive (but a missing pg_restore as it is). */
function unusable(file: string): (error: unknown) => never {
  return (error) => {
    if (error instanceof MissingProgram) throw error;
    throw new UserError(`${file} is not a usable pg_dump archive: ${(error as Error).message}`);
  };
}

/** What a dump holds: its schema, users and jobs. */
export interface DumpContents extends BackupCopy {
  schema: string;
}

/**
 * Checks that `file` is a pg_dump archive of a usergen schema this version knows, and counts what
 * it holds. It reads the archive only, without a server: pg_restore writes the data of the three
 * tables it needs as text, counted here line by line (a COPY row is one line). That is one read of
 * the archive, which the restore itself reads whole anyway; restoring into a scratch schema to
 * count would write the whole copy into the server.
 */
export async function inspectDump(file: string): Promise<DumpContents> {
  const stat = fs.statSync(file);
  const schema = await listArchive(file);
  if (schema === undefined) throw new UserError(`${file} is a pg_dump archive, but not of a usergen schema`);
  const rows = new Map<string, number>();
  let version: number | undefined;
  let table: string | undefined;
  let rest = '';
  const decoder = new StringDecoder('utf8');
  const read = (text: string) => {
    const lines = (rest + text).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      if (table === undefined) {
        table = /^COPY \S+\.(\S+) .* FROM stdin;$/.exec(line)?.[1];
        if (table !== undefined) rows.set(table, 0);
      } else if (line === '\\.') {
        table = undefined;
      } else {
        rows.set(table, rows.get(table)! + 1);
        if (table === 'usergen_schema') version = Number(line);
      }
    }
  };
  const tables = ['usergen_schema', 'users', 'jobs'].map((name) => `--table=${name}`);
  const args = ['--data-only', `--schema=${schema}`, ...tables, '--file=-', file];
  await runPg('pg_restore', args, undefined, (chunk) => read(decoder.write(chunk))).catch(unusable(file));
  read(`${decoder.end()}\n`);
  if (version === undefined || !Number.isInteger(version)) throw new UserError(`${file} holds no usergen schema version`);
  if (version > PG_SCHEMA_VERSION) {
    throw new UserError(`${file} was written by a newer usergen (schema version ${version}, this one knows up to ${PG_SCHEMA_VERSION})`);
  }
  return { schema, sizeBytes: stat.size, users: rows.get('users') ?? 0, jobs: rows.get('jobs') ?? 0 };
}

/** Runs `work` on a connection of its own to `url`, closed whatever happens; errors name the database, never its password. */
async function withClient<T>(url: string, schema: string, work: (client: Client) => Promise<T>): Promise<T> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: url, application_name: 'usergen' });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    throw describeConnectError(error, url);
  }
  try {
    return await work(client);
  } catch (error) {
    throw describePgError(error, url, schema);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Whether `schema` holds usergen's tables; false when it does not exist, or is empty. */
export function usergenSchemaExists(url: string, schema: string): Promise<boolean> {
  return withClient(url, schema, async (client) => {
    const { rows } = await client.query<{ found: boolean }>('select to_regclass($1) is not null as found', [`${schema}.usergen_schema`]);
    return rows[0]!.found;
  });
}

/**
 * Keeps a damaged schema as it is, under another name (`<schema>_damaged_<UTC time>`), for
 * whoever wants to look at it: the server's pages cannot be copied from here, and pg_dump stops at
 * the damage. Returns the new name.
 */
export function setAsideSchema(url: string, schema: string, time = new Date()): Promise<string> {
  const stamp = time.toISOString().replace(/[-:.TZ]/g, '');
  const aside = `${schema.slice(0, 63 - '_damaged_'.length - stamp.length)}_damaged_${stamp}`;
  return withClient(url, schema, async (client) => {
    await client.query(`alter schema ${schema} rename to ${aside}`);
    return aside;
  });
}

/**
 * Replaces usergen's schema with the archive `file` (its schema must be `schema`), in one
 * transaction (pg_restore --clean --if-exists --single-transaction): other sessions see the old
 * tables or the new, never a mix. Objects are owned by the restoring user. --clean drops what the
 * archive holds, then the schema: anything else in the schema (a table of a later migration, or
 * one of the user's) makes that fail, and nothing is changed. Then the backup's own job, running
 * in the copy, is marked succeeded, so that the restored queue does not make that backup again; a
 * restore killed between the two leaves it running, and its lease brings it back as any job whose
 * worker died (one backup more).
 */
export async function restoreDump(file: string, url: string, schema: string): Promise<void> {
  const args = ['--clean', '--if-exists', '--single-transaction', '--no-owner', '--no-acl', file];
  await runPg('pg_restore', args, url).catch((error: unknown) => {
    if (!(error instanceof MissingProgram)) {
      throw new UserError(`cannot restore ${file} into schema ${schema} of ${printableLocation(url)}: ${(error as Error).message}`);
    }
    throw error;
  });
  await withClient(url, schema, async (client) => {
    await client.query('begin');
    const { rows } = await client.query<{ id: string; file: string }>(`select id, file from ${schema}.backups_in_progress`);
    // By name: the archive may have been moved. Renamed too, it is the copy's one dump in progress, if only one was.
    let own = rows.filter((row) => path.basename(row.file) === path.basename(file));
    if (own.length === 0 && rows.length === 1) own = rows;
    await client.query(
      `update ${schema}.jobs j set state = 'succeeded', finished_at = b.started_at, locked_by = null, locked_until = null
       from ${schema}.backups_in_progress b where b.id = any($1::bigint[]) and j.id = b.job_id and j.state = 'running'`,
      [own.map((row) => row.id)],
    );
    // The other dumps were in progress in the past the copy holds; none is in this database now.
    await client.query(`delete from ${schema}.backups_in_progress`);
    await client.query('commit');
  });
}
