import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // statement_timestamp(), not now(): rows created by separate statements in one transaction
  // still get distinct times, and created_at equals updated_at on a new row. Naive UTC.
  const utcNow = sql`(statement_timestamp() at time zone 'utc')`;
  await db.schema
    .createTable('todos')
    .addColumn('id', 'serial', (col) => col.primaryKey())
    .addColumn('title', 'varchar(80)', (col) => col.notNull())
    .addColumn('description', 'varchar(120)')
    .addColumn('completed', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('deadline_at', 'timestamp')
    .addColumn('created_at', 'timestamp', (col) => col.notNull().defaultTo(utcNow))
    .addColumn('updated_at', 'timestamp', (col) => col.notNull().defaultTo(utcNow))
    .execute();
  // The list is always ordered newest first, ties broken by id.
  await db.schema
    .createIndex('todos_created_at_id_idx')
    .on('todos')
    .expression(sql`created_at desc, id desc`)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('todos').execute();
}
