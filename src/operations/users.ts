import type { JobStore } from '../store/store.js';
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

export async function usersPage(store: JobStore, options: UsersPageOptions): Promise<UsersPage> {
  const { limit, offset } = options;
  const [users, total] = await Promise.all([listUsers(store.db, limit, offset), countUsers(store.db)]);
  return { users, total, limit, offset };
}
