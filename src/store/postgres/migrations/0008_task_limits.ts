// Limits that hold across every worker, as in the SQLite file: per task, the limits set from the
// CLI or the library, and the definitions' (for the status); each job's group key; the starts of rate-limited tasks, kept for one window.

export function up(s: string): string {
  return `
  alter table ${s}.task_settings add column limits_set_at bigint, add column limit_concurrency integer,
    add column limit_rate_max integer, add column limit_rate_per_ms bigint, add column limit_group_concurrency integer, add column defined_limits text;
  alter table ${s}.jobs add column group_key text;
  create table ${s}.task_starts (task text not null, at bigint not null);
  create index task_starts_by_task on ${s}.task_starts (task, at);`;
}
