import { sql, type Kysely } from 'kysely';

/**
 * Idempotency keys of POST /api/v1/todos: the first request's outcome, kept for a while so
 * that a client retrying after a timeout gets that outcome instead of a second todo.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('idempotency_keys')
    .addColumn('key', 'varchar(255)', (col) => col.primaryKey())
    .addColumn('request_hash', 'char(64)', (col) => col.notNull())
    .addColumn('response_status', 'smallint')
    .addColumn('response_body', 'text')
    .addColumn('created_at', 'timestamp', (col) =>
      col.notNull().defaultTo(sql`(statement_timestamp() at time zone 'utc')`),
    )
    .execute();
  await db.schema.createIndex('idempotency_keys_created_at_idx').on('idempotency_keys').column('created_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('idempotency_keys').execute();
}
