import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { formatTime } from '../format.js';

// The frame every page shares. Everything interpolated into `html` is escaped: a payload or an
// error holding `<script>` shows as text. `raw` is used only for markup made here.

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface PageFrame {
  title: string;
  /** The path of the page, to mark its link in the menu. */
  path: string;
  /** Shown once above the page (a cookie carries it across a redirect). */
  flash?: string | undefined;
  /** Hide every button: the server refuses every POST. */
  readOnly: boolean;
  /** Where the page's live updates come from, if it has any. */
  live?: string | undefined;
  body: Html;
}

const MENU: Array<[string, string]> = [
  ['/generate', 'Generate'],
  ['/users', 'Users'],
  ['/jobs', 'Jobs'],
  ['/backups', 'Backups'],
];

export function page(frame: PageFrame): Html {
  const menu = MENU.map(([href, label]) => html`<a href="${href}"${raw(frame.path === href ? ' aria-current="page"' : '')}>${label}</a>`);
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${frame.title} · usergen</title>
<link rel="stylesheet" href="/static/app.css">
<script src="/static/app.js" defer></script>
</head>
<body>
<header><strong>usergen</strong>${menu}${frame.readOnly ? html`<span class="muted">read-only</span>` : ''}</header>
<main${frame.live ? html` data-live="${frame.live}"` : ''}>
${frame.flash ? html`<p class="flash" role="status">${frame.flash}</p>` : ''}
${frame.body}
</main>
</body>
</html>`;
}

/** A POST form with its CSRF token: a button (none when read-only). */
export function actionButton(action: string, label: string, csrf: string, readOnly: boolean, secondary = false): Html {
  if (readOnly) return html``;
  return html`<form class="inline" method="post" action="${action}"><input type="hidden" name="_csrf" value="${csrf}"><button${raw(
    secondary ? ' class="secondary"' : '',
  )} type="submit">${label}</button></form>`;
}

export function progressBar(current: number | null, total: number | null): Html {
  if (total === null) return html`<progress hidden></progress><span data-field="progress"></span>`;
  return html`<progress max="${total}" value="${current ?? 0}"></progress> <span data-field="progress">${current ?? 0}/${total}</span>`;
}

/** `2026-11-24 13:02:01 UTC`; empty for no time. */
export function formatUtc(iso: string | null): string {
  return iso === null ? '' : `${formatTime(iso)} UTC`;
}
