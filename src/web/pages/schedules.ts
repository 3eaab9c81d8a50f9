import { html } from 'hono/html';
import { listJobsView } from '../../operations/jobs.js';
import { iso } from '../../format.js';
import type { ScheduleView } from '../../queue/status.js';
import { getSchedule } from '../../queue/schedules.js';
import type { JobStore } from '../../store/store.js';
import { formatInteger } from '../../format.js';
import { formatUtc, page, type Html } from '../layout.js';

// The schedules: a table on `/jobs`, and `/schedules/<name>` with the jobs of one.

const JOBS_LISTED = 50;

/** The schedules with their next runs and last jobs, for /jobs; nothing when there are none. */
export function schedulesTable(schedules: readonly ScheduleView[]): Html | string {
  if (schedules.length === 0) return '';
  return html`<h2>Schedules</h2>
<table>
<thead><tr><th>Name</th><th>Task</th><th>When</th><th>Next</th><th>Last job</th><th>Skipped</th></tr></thead>
<tbody>${schedules.map(
    (schedule) => html`<tr data-schedule="${schedule.name}">
<td><a href="/schedules/${encodeURIComponent(schedule.name)}">${schedule.name}</a></td>
<td>${schedule.task}</td>
<td>${schedule.cadence}</td>
<td>${schedule.paused ? 'paused' : formatUtc(schedule.next_run_at)}</td>
<td>${schedule.last_job_id === null ? '' : html`<a href="/jobs/${schedule.last_job_id}">${schedule.last_job_id}</a> ${schedule.last_job_state ?? 'purged'}`}</td>
<td>${formatInteger(schedule.skipped)}</td>
</tr>`,
  )}</tbody>
</table>`;
}

/** `/schedules/<name>`: the schedule and its newest jobs; undefined for an unknown name. */
export async function scheduleView(store: JobStore, name: string, request: { readOnly: boolean }): Promise<Html | undefined> {
  const schedule = await getSchedule(store, name);
  if (!schedule) return undefined;
  const { jobs } = await listJobsView(store, { schedule: name, limit: JOBS_LISTED });
  const body = html`<h1>Schedule ${schedule.name}</h1>
<table>
<tr><th>Task</th><td>${schedule.task}</td></tr>
<tr><th>When</th><td>${schedule.cadence}${schedule.paused ? ' (paused)' : ''}</td></tr>
<tr><th>Next</th><td>${schedule.paused ? 'paused' : formatUtc(iso(schedule.next_run_at))}</td></tr>
<tr><th>Catch-up</th><td>${schedule.catch_up}${schedule.overlap ? ', overlapping' : ', a slot is skipped while the previous job is queued or running'}</td></tr>
<tr><th>Last fired</th><td>${schedule.last_fired_at === null ? 'never' : formatUtc(iso(schedule.last_fired_at))}</td></tr>
<tr><th>Skipped</th><td>${formatInteger(schedule.skipped)}</td></tr>
</table>
<h2>Payload</h2><pre>${JSON.stringify(schedule.payload, null, 2)}</pre>
<h2>Its jobs, newest first</h2>
${
  jobs.length === 0
    ? html`<p class="muted">No job yet: a worker that runs ${schedule.task} fires the next slot.</p>`
    : html`<table><thead><tr><th>Id</th><th>State</th><th>Slot</th><th>Attempts</th><th>Finished</th></tr></thead><tbody>${jobs.map(
        (job) =>
          html`<tr><td><a href="/jobs/${job.id}">${job.id}</a></td><td><span class="state-${job.state}">${job.state}</span></td><td>${formatUtc(job.run_at)}</td><td>${job.attempts}</td><td>${formatUtc(job.finished_at)}</td></tr>`,
      )}</tbody></table>`
}`;
  return page({ title: `Schedule ${schedule.name}`, path: '/jobs', readOnly: request.readOnly, body });
}
