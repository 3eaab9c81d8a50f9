import type { JobStore } from '../store/store.js';
import { countUsers, listUsers, type PublicUser } from '../tasks/users.js';

export interface UsersPageOptions {
  limit: number;
  offset: number;
  /** `oldest` first (creation order, the default) or `newest` first. */
  order?: 'oldest' | 'newest' | undefined;
}

export interface UsersPage {
  /** In the order asked for; never their password hashes. */
  users: PublicUser[];
  total: number;
  limit: number;
  offset: number;
  order: 'oldest' | 'newest';
}

export async function usersPage(store: JobStore, options: UsersPageOptions): Promise<UsersPage> {
  const { limit, offset } = options;
  const order = options.order ?? 'oldest';
  const total = await countUsers(store.db);
  const count = Math.max(0, Math.min(limit, total - offset));
  const ascending = order === 'oldest' ? 'asc' : 'desc';
  let users: PublicUser[] = [];
  if (count > 0 && offset > total / 2) {
    // OFFSET walks every row it skips: a page past the middle is read from the other end, so the
    // first and the last page of a million users are both one short walk.
    const fromEnd = total - offset - count;
    users = (await listUsers(store.db, count, fromEnd, ascending === 'asc' ? 'desc' : 'asc')).reverse();
  } else if (count > 0) {
    users = await listUsers(store.db, count, offset, ascending);
  }
  return { users, total, limit, offset, order };
}
