import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { countUsers, listUsers, type PublicUser } from '../tasks/users.js';

export interface UsersPageOptions {
  limit: number;
  offset: number;
}

export interface UsersPage {
  /** In creation order; never their password hashes. */
  users: PublicUser[];
  total: number;
  limit: number;
  offset: number;
}

export async function usersPage(db: Kysely<Database>, options: UsersPageOptions): Promise<UsersPage> {
  const { limit, offset } = options;
  const [users, total] = await Promise.all([listUsers(db, limit, offset), countUsers(db)]);
  return { users, total, limit, offset };
}
