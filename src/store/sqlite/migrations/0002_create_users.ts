import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'integer', (col) => col.primaryKey().autoIncrement())
    .addColumn('username', 'text', (col) => col.notNull().unique())
    .addColumn('email', 'text', (col) => col.notNull())
    .addColumn('first_name', 'text', (col) => col.notNull())
    .addColumn('last_name', 'text', (col) => col.notNull())
    .addColumn('password', 'text', (col) => col.notNull())
    .addColumn('is_superuser', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('is_staff', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('is_active', 'integer', (col) => col.notNull().defaultTo(1))
    .addColumn('last_login', 'text')
    .addColumn('date_joined', 'text', (col) => col.notNull())
    .addColumn('job_id', 'integer', (col) => col.references('jobs.id').onDelete('set null'))
    .execute();
  await db.schema.createIndex('users_job_id').on('users').column('job_id').execute();
}
