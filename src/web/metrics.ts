import { jobMetrics, queueStatusView } from '../operations/status.js';
import type { JobStore } from '../store/store.js';

// /metrics in Prometheus' text format, read from the job table at each scrape: it survives restarts
// and counts the work of every process on the database, not only this one's.

/** Seconds: the job duration histogram's upper bounds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

export async function metricsText(store: JobStore, now = Date.now()): Promise<string> {
  const [status, { totals, durations: histograms }] = await Promise.all([
    queueStatusView(store, { now }),
    jobMetrics(
      store,
      DURATION_BUCKETS.map((seconds) => seconds * 1000),
    ),
  ]);
  const lines: string[] = [];
  const metric = (name: string, type: string, help: string, samples: Array<[Record<string, string>, number]>) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labelText(labels)} ${value}`);
  };
  metric(
    'usergen_jobs',
    'gauge',
    'Jobs in the table, by state.',
    Object.entries(status.counts).map(([state, count]) => [{ state }, count]),
  );
  metric(
    'usergen_task_jobs',
    'gauge',
    'Jobs in the table, by task and state.',
    totals.map((row) => [{ task: row.task, state: row.state }, row.jobs]),
  );
  metric(
    'usergen_task_attempts',
    'gauge',
    'Attempts used by the jobs in the table, by task and the state the job is in (its outcome once it ended).',
    totals.map((row) => [{ task: row.task, outcome: row.state }, row.attempts]),
  );
  // Of every ended job in the table: it only grows (until a purge), as a Prometheus histogram must.
  lines.push(
    '# HELP usergen_job_duration_seconds How long the last attempt of each ended job (succeeded or failed) ran.',
    '# TYPE usergen_job_duration_seconds histogram',
  );
  for (const { task, count, sum_ms, at_most } of histograms) {
    for (const [i, bound] of DURATION_BUCKETS.entries()) {
      lines.push(`usergen_job_duration_seconds_bucket${labelText({ task, le: String(bound) })} ${at_most[i] ?? 0}`);
    }
    lines.push(`usergen_job_duration_seconds_bucket${labelText({ task, le: '+Inf' })} ${count}`);
    lines.push(`usergen_job_duration_seconds_sum${labelText({ task })} ${sum_ms / 1000}`);
    lines.push(`usergen_job_duration_seconds_count${labelText({ task })} ${count}`);
  }
  metric('usergen_oldest_queued_job_age_seconds', 'gauge', 'How long the oldest ready job has waited (0 when none waits).', [
    [{}, (status.oldest_ready_wait_ms ?? 0) / 1000],
  ]);
  metric('usergen_workers_alive', 'gauge', 'Workers alive on this database.', [[{}, status.workers.length]]);
  const scheduleSamples = (value: (schedule: (typeof status.schedules)[number]) => number): Array<[Record<string, string>, number]> =>
    status.schedules.map((schedule) => [{ schedule: schedule.name, task: schedule.task }, value(schedule)]);
  metric(
    'usergen_schedule_last_fire_timestamp_seconds',
    'gauge',
    'When each schedule last fired a slot (0: never).',
    scheduleSamples((schedule) => (schedule.last_fired_at === null ? 0 : Date.parse(schedule.last_fired_at) / 1000)),
  );
  metric(
    'usergen_schedule_next_run_timestamp_seconds',
    'gauge',
    'When the next slot of each schedule is due (0: paused).',
    scheduleSamples((schedule) => (schedule.paused ? 0 : Date.parse(schedule.next_run_at) / 1000)),
  );
  metric(
    'usergen_schedule_skipped_slots_total',
    'counter',
    'Slots of each schedule not fired: missed while no worker ran, or come while its previous job had not ended.',
    scheduleSamples((schedule) => schedule.skipped),
  );
  metric(
    'usergen_task_paused',
    'gauge',
    'Tasks paused (1), whose jobs no worker claims until resumed, with their ready jobs in usergen_task_paused_ready_jobs.',
    status.paused_tasks.map((paused) => [{ task: paused.task }, 1]),
  );
  metric(
    'usergen_task_paused_ready_jobs',
    'gauge',
    'Ready jobs of each paused task.',
    status.paused_tasks.map((paused) => [{ task: paused.task }, paused.ready]),
  );
  metric(
    'usergen_task_limit',
    'gauge',
    'Limits across every worker, by task and kind: concurrency, rate (starts per window), rate_window_seconds, group_concurrency.',
    status.limits.flatMap(
      (limit): Array<[Record<string, string>, number]> => [
        ...(limit.limits.concurrency === undefined
          ? []
          : [[{ task: limit.task, kind: 'concurrency' }, limit.limits.concurrency] as [Record<string, string>, number]]),
        ...(limit.limits.rate === undefined
          ? []
          : [
              [{ task: limit.task, kind: 'rate' }, limit.limits.rate.max] as [Record<string, string>, number],
              [{ task: limit.task, kind: 'rate_window_seconds' }, limit.limits.rate.perMs / 1000] as [Record<string, string>, number],
            ]),
        ...(limit.limits.groupConcurrency === undefined
          ? []
          : [[{ task: limit.task, kind: 'group_concurrency' }, limit.limits.groupConcurrency] as [Record<string, string>, number]]),
      ],
    ),
  );
  metric(
    'usergen_task_limit_running_jobs',
    'gauge',
    'Running jobs of each limited task.',
    status.limits.map((limit) => [{ task: limit.task }, limit.running]),
  );
  metric(
    'usergen_task_limit_window_starts',
    'gauge',
    "Starts of each rate-limited task in its rate's current window.",
    status.limits.filter((limit) => limit.limits.rate !== undefined).map((limit) => [{ task: limit.task }, limit.started_in_window]),
  );
  metric(
    'usergen_task_limit_ready_jobs',
    'gauge',
    'Ready jobs of each limited task, waiting for a share of its limits.',
    status.limits.map((limit) => [{ task: limit.task }, limit.ready]),
  );
  metric('usergen_last_backup_timestamp_seconds', 'gauge', 'When the newest backup on record was made (0: none).', [
    [{}, status.last_backup_at === null ? 0 : Date.parse(status.last_backup_at) / 1000],
  ]);
  return `${lines.join('\n')}\n`;
}

function labelText(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([key, value]) => `${key}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}
