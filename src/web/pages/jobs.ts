import { html } from 'hono/html';
import { jobDetail, listJobsView } from '../../operations/jobs.js';
import type { JobView } from '../../operations/job-view.js';
import type { QueueStatusView } from '../../operations/status.js';
import { JOB_STATES, type JobState } from '../../store/schema.js';
import type { JobStore } from '../../store/store.js';
import { actionButton, formatUtc, page, progressBar, type Html } from '../layout.js';
import { formatInteger } from '../../format.js';
import { schedulesTable } from './schedules.js';
import { limitSentence } from '../../queue/limits.js';

// `/jobs` (the dashboard and the list) and `/jobs/<id>`. Both are live: the script follows
// /events and moves each job's state and progress bar without a reload.

export const JOBS_LISTED = 50;

export interface JobsRequest {
  state?: JobState | undefined;
  task?: string | undefined;
  flash?: string | undefined;
  csrf: string;
  readOnly: boolean;
}

export async function jobsView(store: JobStore, readStatus: () => Promise<QueueStatusView>, request: JobsRequest): Promise<Html> {
  const status = await readStatus();
  const listing = await listJobsView(store, { state: request.state, task: request.task, limit: JOBS_LISTED });
  const waiting = new Set(listing.waiting_for_a_worker_that_knows_their_task);
  const card = (label: string, value: Html | string, count?: string) =>
    html`<div class="card">${label}<b${count === undefined ? '' : html` data-count="${count}"`}>${value}</b></div>`;
  const body = html`<h1>Jobs</h1>
<div class="cards">
${JOB_STATES.map((state) => card(state, formatInteger(status.counts[state]), state))}
${card('live workers', formatInteger(status.workers.length))}
${card('oldest waiting', status.oldest_ready_wait_ms === null ? 'none' : `${(status.oldest_ready_wait_ms / 1000).toFixed(1)} s`)}
${card('last minute', `${formatInteger(status.jobs_ended_last_minute)} done (${status.jobs_per_second_last_minute}/s)`)}
${card('last backup', status.last_backup_at === null ? 'none' : formatUtc(status.last_backup_at))}
${card('next backup', status.next_backup === null ? 'none queued' : `job ${status.next_backup.job_id}, ${status.next_backup.state}`)}
</div>
${
  status.workers.length === 0
    ? html`<p class="muted">No worker is running: queued jobs wait for one (<code>usergen worker</code>, or <code>usergen serve --worker</code>).</p>`
    : html`<p class="muted">Workers: ${status.workers.map((worker) => `${worker.host}:${worker.pid} (${worker.concurrency} at once, ${worker.jobs_done} done)`).join(', ')}</p>`
}
${schedulesTable(status.schedules)}
${pausedTasks(status, request)}${status.limits.map((limit) => html`<p class="limited" data-limited="${limit.task}">${limitSentence(limit)}</p>`)}
<form method="get" action="/jobs">
<label>State <select name="state"><option value="">any</option>${JOB_STATES.map(
    (state) => html`<option${request.state === state ? html` selected` : ''}>${state}</option>`,
  )}</select></label>
<label>Task <input name="task" value="${request.task ?? ''}" placeholder="any"></label>
<button class="secondary" type="submit">Show</button>
</form>
${bulkActions(request)}
<table>
<thead><tr><th>Id</th><th>Task</th><th>State</th><th>Progress</th><th>Attempts</th><th>Created</th><th></th></tr></thead>
<tbody>
${listing.jobs.map((job) => jobRow(job, waiting.has(job.id), request))}
</tbody>
</table>
${listing.jobs.length === 0 ? html`<p class="muted">No jobs${request.state || request.task ? ' match' : ' yet'}.</p>` : ''}`;
  return page({ title: 'Jobs', path: '/jobs', flash: request.flash, readOnly: request.readOnly, live: `/events?${filterQuery(request)}`, body });
}

function jobRow(job: JobView, waitingForWorker: boolean, request: JobsRequest): Html {
  return html`<tr data-job="${job.id}">
<td><a href="/jobs/${job.id}">${job.id}</a></td>
<td>${job.task}</td>
<td><span data-field="state" class="state-${job.state}">${job.state}</span>${
    waitingForWorker ? html` <span class="muted">(no running worker knows this task)</span>` : ''
  }</td>
<td>${progressBar(job.progress?.current ?? null, job.progress?.total ?? null)}</td>
<td data-field="attempts">${job.attempts}</td>
<td>${formatUtc(job.created_at)}</td>
<td>${actions(job, request)}</td>
</tr>`;
}

function actions(job: JobView, request: { csrf: string; readOnly: boolean }): Html {
  if (job.state === 'failed' || job.state === 'cancelled') return actionButton(`/jobs/${job.id}/retry`, 'Retry', request.csrf, request.readOnly);
  if (job.state === 'queued' || job.state === 'running') {
    return actionButton(`/jobs/${job.id}/cancel`, 'Cancel', request.csrf, request.readOnly, true);
  }
  return html``;
}

/** The paused tasks, each with its Resume button; with a task in the filter, its Pause button. */
function pausedTasks(status: QueueStatusView, request: JobsRequest): Html {
  const paused = status.paused_tasks;
  const button = (task: string, action: 'pause' | 'resume') =>
    actionButton(
      `/tasks/${encodeURIComponent(task)}/${action}`,
      `${action === 'pause' ? 'Pause' : 'Resume'} ${task}`,
      request.csrf,
      request.readOnly,
      action === 'pause',
    );
  const filtered = request.task !== undefined && !paused.some((row) => row.task === request.task);
  return html`${paused.map(
    (row) =>
      html`<p class="paused" data-paused="${row.task}">Task <b>${row.task}</b> is paused since ${formatUtc(row.paused_at)}: no worker claims its ${formatInteger(row.ready)} ready job(s). ${button(row.task, 'resume')}</p>`,
  )}${filtered ? html`<p>${button(request.task!, 'pause')}</p>` : ''}`;
}

/** The list's filter as a query string: `state=failed&task=send_mail`. */
export function filterQuery(filter: { state?: JobState | undefined; task?: string | undefined }): URLSearchParams {
  const query = new URLSearchParams();
  if (filter.state) query.set('state', filter.state);
  if (filter.task) query.set('task', filter.task);
  return query;
}

/** For a list of one state: retry (or cancel) every job of that state and task, not only those shown. */
function bulkActions(request: JobsRequest): Html | string {
  const { state, task } = request;
  const query = filterQuery(request);
  const which = `every ${state} job${task ? ` of ${task}` : ''}`;
  if (state === 'failed' || state === 'cancelled') return actionButton(`/jobs/retry?${query}`, `Retry ${which}`, request.csrf, request.readOnly);
  if (state === 'queued' || state === 'running')
    return actionButton(`/jobs/cancel?${query}`, `Cancel ${which}`, request.csrf, request.readOnly, true);
  return '';
}

/** `/jobs/<id>`: everything about one job. Throws JobNotFoundError for an unknown id. */
export async function jobView(store: JobStore, id: number, request: { flash?: string | undefined; csrf: string; readOnly: boolean }): Promise<Html> {
  const { job, users } = await jobDetail(store, { id });
  const json = (value: unknown) => JSON.stringify(value, null, 2);
  const body = html`<h1>Job ${job.id}: ${job.task}</h1>
<table data-job="${job.id}">
<tr><th>State</th><td><span data-field="state" class="state-${job.state}">${job.state}</span> ${actions(job, request)}</td></tr>
<tr><th>Progress</th><td>${progressBar(job.progress?.current ?? null, job.progress?.total ?? null)}</td></tr>
<tr><th>Attempts</th><td><span data-field="attempts">${job.attempts}</span> of ${job.max_attempts}</td></tr>
<tr><th>Priority</th><td>${job.priority}</td></tr>
<tr><th>Created</th><td>${formatUtc(job.created_at)}</td></tr>
<tr><th>Runs at</th><td>${formatUtc(job.run_at)}</td></tr>
<tr><th>Started</th><td>${formatUtc(job.started_at)}</td></tr>
<tr><th>Finished</th><td>${formatUtc(job.finished_at)}</td></tr>
</table>
<h2>Payload</h2><pre>${json(job.payload)}</pre>
${job.result === null ? '' : html`<h2>Result</h2><pre>${typeof job.result === 'string' ? job.result : json(job.result)}</pre>`}
${job.error === null ? '' : html`<h2>Error</h2><pre class="error">${job.error.name}: ${job.error.message}${job.error.stack ? `\n\n${job.error.stack}` : ''}</pre>`}
${
  job.history.length === 0
    ? ''
    : html`<h2>History</h2><table><thead><tr><th>When</th><th>Attempt</th><th>Became</th><th>Why</th></tr></thead><tbody>${job.history.map(
        (entry) =>
          html`<tr><td>${formatUtc(entry.at)}</td><td>${entry.attempt}</td><td>${entry.state}</td><td>${
            entry.retried_from ? `retried by hand (was ${entry.retried_from})` : entry.error ? `${entry.error.name}: ${entry.error.message}` : ''
          }</td></tr>`,
      )}</tbody></table>`
}
${users.length === 0 ? '' : html`<h2>Users it made (${formatInteger(users.length)})</h2><p>${users.join(', ')}</p>`}`;
  return page({ title: `Job ${job.id}`, path: '/jobs', flash: request.flash, readOnly: request.readOnly, live: `/events?job=${job.id}`, body });
}
