// The fence every write about a running job goes through, as each engine's raw SQL spells it
// (kysely's builder spells the same in ../queries.ts, heldBy): this
// job, still this run's (the worker that claimed it, and the attempt it counted), still running.
// A run whose lease lapsed and whose job was claimed again, even by the same worker, no longer
// matches: none of its writes land.

/** The fence on `table`'s row, given what each engine writes for the job's id, the worker and the attempt. */
export function fence(table: string, id: string, worker: string, attempt: string): string {
  return `${table}.id = ${id} and ${table}.locked_by = ${worker} and ${table}.attempts = ${attempt} and ${table}.state = 'running'`;
}
