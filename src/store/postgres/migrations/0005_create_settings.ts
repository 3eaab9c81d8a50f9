// What the queue is told at run time and every worker obeys, as in the SQLite file: per task,
// whether it is paused; queue-wide settings by name (the retention of ended jobs), JSON values.

export function up(s: string): string {
  return `
  create table ${s}.task_settings (
    task text primary key,
    paused_at bigint,
    updated_at bigint not null
  );
  create table ${s}.queue_settings (
    name text primary key,
    value text not null,
    updated_at bigint not null
  );`;
}
