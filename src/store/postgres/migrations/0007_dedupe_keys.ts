// Dedupe keys, as in the SQLite file: at most one job per key while queued (dedupe_queued, let go
// by the claim), or while queued or running (dedupe_active); only rows with a key are indexed.

export function up(s: string): string {
  return `
  alter table ${s}.jobs add column dedupe_queued text, add column dedupe_active text;
  create unique index jobs_dedupe_queued on ${s}.jobs (dedupe_queued) where dedupe_queued is not null and state = 'queued';
  create unique index jobs_dedupe_active on ${s}.jobs (dedupe_active) where dedupe_active is not null and state in ('queued', 'running');`;
}
