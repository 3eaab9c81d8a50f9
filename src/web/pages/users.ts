import { html } from 'hono/html';
import { usersPage } from '../../operations/users.js';
import type { JobStore } from '../../store/store.js';
import { formatUtc, page, type Html } from '../layout.js';
import { formatInteger } from '../../format.js';

export const USERS_PER_PAGE = 50;

export interface UsersRequest {
  /** 1-based. */
  page: number;
  order: 'oldest' | 'newest';
  flash?: string | undefined;
  readOnly: boolean;
}

/** `/users`: the original setup's list, paginated, oldest or newest first. */
export async function usersView(store: JobStore, request: UsersRequest): Promise<Html> {
  let listing = await usersPage(store, { limit: USERS_PER_PAGE, offset: (request.page - 1) * USERS_PER_PAGE, order: request.order });
  const pages = Math.max(1, Math.ceil(listing.total / USERS_PER_PAGE));
  // A page past the end (an old link, a typed number) shows the last one.
  const current = Math.min(request.page, pages);
  if (current !== request.page)
    listing = await usersPage(store, { limit: USERS_PER_PAGE, offset: (current - 1) * USERS_PER_PAGE, order: request.order });
  const offset = listing.offset;
  const link = (target: number, label: string) =>
    target < 1 || target > pages || target === current
      ? html`<span class="muted">${label}</span>`
      : html`<a href="/users?page=${target}&amp;order=${request.order}">${label}</a>`;
  const other = request.order === 'oldest' ? 'newest' : 'oldest';
  const body =
    listing.total === 0
      ? html`<h1>Users</h1><p>No users yet. <a href="/generate">Generate some</a>.</p>`
      : html`<h1>Users <span class="muted">(${formatInteger(listing.total)})</span></h1>
<p>${request.order === 'oldest' ? 'Oldest first' : 'Newest first'} · <a href="/users?order=${other}">${other} first</a></p>
<table>
<thead><tr><th>Username</th><th>Email</th><th>Date joined</th></tr></thead>
<tbody>
${listing.users.map((user) => html`<tr><td>${user.username}</td><td>${user.email}</td><td>${formatUtc(user.date_joined)}</td></tr>`)}
</tbody>
</table>
<nav class="pages" aria-label="pages">${link(1, 'First')} ${link(current - 1, 'Previous')}
<span>Page ${formatInteger(current)} of ${formatInteger(pages)} · showing ${formatInteger(offset + 1)}-${formatInteger(offset + listing.users.length)} of ${formatInteger(listing.total)}</span>
${link(current + 1, 'Next')} ${link(pages, 'Last')}</nav>`;
  return page({ title: 'Users', path: '/users', flash: request.flash, readOnly: request.readOnly, body });
}
