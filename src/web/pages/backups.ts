import { html } from 'hono/html';
import { backupListing, queueBackup } from '../../operations/backups.js';
import type { JobStore } from '../../store/store.js';
import { defaultBackupDir } from '../../tasks/backup.js';
import { actionButton, formatUtc, page, type Html } from '../layout.js';
import { formatBytes, formatInteger } from '../../format.js';

/** `/backups`: every backup on record and in the backup folder, and a button that queues one now. */
export async function backupsView(store: JobStore, request: { flash?: string | undefined; csrf: string; readOnly: boolean }): Promise<Html> {
  const listing = await backupListing(store, { dir: defaultBackupDir(store.location), onlyDir: false });
  const body = html`<h1>Backups</h1>
<p>${actionButton('/backups', 'Back up now', request.csrf, request.readOnly)} <span class="muted">Backup folder: ${listing.dir}</span></p>
${
  listing.backups.length === 0
    ? html`<p>No backups yet.</p>`
    : html`<table><thead><tr><th>File</th><th>Made</th><th>Users</th><th>Size</th><th>Checked</th></tr></thead><tbody>${listing.backups.map(
        (backup) =>
          html`<tr><td>${backup.file}${backup.on_disk ? '' : html` <span class="error">(missing)</span>`}</td><td>${formatUtc(backup.created_at)}</td><td>${
            backup.users === null ? '' : formatInteger(backup.users)
          }</td><td>${formatBytes(backup.size_bytes)}</td><td>${backup.verified ? 'yes' : 'no'}</td></tr>`,
      )}</tbody></table>`
}`;
  return page({ title: 'Backups', path: '/backups', flash: request.flash, readOnly: request.readOnly, body });
}

/** Queues a backup into the backup folder for a worker; the line to show after it. */
export async function queueBackupView(store: JobStore): Promise<string> {
  const queued = await queueBackup(store);
  return queued.workers === 0
    ? `Backup job ${queued.job_id} queued. No worker is running: start one (usergen worker) to make it.`
    : `Backup job ${queued.job_id} queued: a worker makes it now.`;
}
