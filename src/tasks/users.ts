import type { Kysely, Transaction } from 'kysely';
import type { Database, NewUser, UserRow } from '../store/schema.js';

/** What may be shown of a user: everything but the password hash. */
export type PublicUser = Omit<UserRow, 'password'>;

const PUBLIC_COLUMNS = [
  'id',
  'username',
  'email',
  'first_name',
  'last_name',
  'is_superuser',
  'is_staff',
  'is_active',
  'last_login',
  'date_joined',
  'job_id',
] as const;

// 12 bound values a row: stays far below SQLite's 32,766 variables a statement.
const INSERT_CHUNK = 500;

export async function insertUsers(trx: Transaction<Database>, users: NewUser[]): Promise<void> {
  for (let i = 0; i < users.length; i += INSERT_CHUNK) {
    await trx
      .insertInto('users')
      .values(users.slice(i, i + INSERT_CHUNK))
      .execute();
  }
}

/** Those of `usernames` already in the table. */
export async function takenUsernames(trx: Transaction<Database>, usernames: string[]): Promise<Set<string>> {
  const taken = new Set<string>();
  for (let i = 0; i < usernames.length; i += INSERT_CHUNK) {
    const rows = await trx
      .selectFrom('users')
      .select('username')
      .where('username', 'in', usernames.slice(i, i + INSERT_CHUNK))
      .execute();
    for (const row of rows) taken.add(row.username);
  }
  return taken;
}

/** Oldest first (`asc`, creation order) or newest first (`desc`). */
export async function listUsers(db: Kysely<Database>, limit: number, offset: number, order: 'asc' | 'desc' = 'asc'): Promise<PublicUser[]> {
  return db.selectFrom('users').select(PUBLIC_COLUMNS).orderBy('id', order).limit(limit).offset(offset).execute();
}

export async function countUsers(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** The usernames a job created, in creation order. */
export async function usernamesOfJob(db: Kysely<Database>, jobId: number): Promise<string[]> {
  const rows = await db.selectFrom('users').select('username').where('job_id', '=', jobId).orderBy('id').execute();
  return rows.map((row) => row.username);
}
