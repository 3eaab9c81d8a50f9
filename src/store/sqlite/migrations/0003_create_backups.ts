import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('backups')
    .addColumn('id', 'integer', (col) => col.primaryKey().autoIncrement())
    .addColumn('file', 'text', (col) => col.notNull().unique())
    .addColumn('created_at', 'integer', (col) => col.notNull())
    .addColumn('size_bytes', 'integer', (col) => col.notNull())
    .addColumn('users', 'integer', (col) => col.notNull())
    .addColumn('jobs', 'integer', (col) => col.notNull())
    .addColumn('duration_ms', 'integer', (col) => col.notNull())
    .addColumn('verified', 'integer', (col) => col.notNull())
    .addColumn('job_id', 'integer', (col) => col.references('jobs.id').onDelete('set null'))
    .execute();
  await db.schema.createIndex('backups_created_at').on('backups').column('created_at').execute();
}
