/**
 * A rollback survives its migration: the database is migrated to N+1 (this code's migrations
 * plus an expand-only one that only this test has), then the code of N runs on it, as after a
 * deploy whose migration succeeded and whose tasks were rolled back. Its migrate CLI accepts
 * the database and says so; its todo-write and todo-read start, and serve a create and a list
 * through the edge. A database whose history does not extend the code's is refused instead.
 * Against the real PostgreSQL `pnpm test` provides, as the migration role.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createDb, MIGRATIONS, migrateToLatest } from '@taskoverflow/db';
import { startLocalStack } from '@taskoverflow/stack';
import { createTestDatabase, TEST_SERVICE_ENV } from '@taskoverflow/stack/testing';
import pg from 'pg';
import t from 'tap';

const database = await createTestDatabase();
t.teardown(() => database.drop());

type Migrations = NonNullable<Parameters<typeof migrateToLatest>[1]>;

/** Expand only: a column old code never names (with a default, so its inserts still work) and a table it never reads. */
const EXPAND: Migrations[string] = {
  async up(db) {
    await db.schema
      .alterTable('todos')
      .addColumn('priority', 'smallint', (col) => col.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createTable('todo_labels')
      .addColumn('todo_id', 'integer', (col) => col.notNull().references('todos.id').onDelete('cascade'))
      .addColumn('label', 'varchar(40)', (col) => col.notNull())
      .execute();
  },
};
const NEXT_MIGRATION = '9000_rollback_test_expand';

/** Runs `work` over a kysely instance on `url` (one connection), then closes it. */
async function withDb<T>(url: string, work: (db: ReturnType<typeof createDb>) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    return await work(createDb(pool));
  } finally {
    await pool.end();
  }
}

/** One query's rows, as the administrator. */
async function query<Row>(text: string, values: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as Row[];
  } finally {
    await client.end();
  }
}

t.test('the database is migrated to N+1 by the code of N+1', async (t) => {
  const run = await withDb(database.migrationUrl, (db) =>
    migrateToLatest(db, { ...MIGRATIONS, [NEXT_MIGRATION]: EXPAND }),
  );
  t.same(run, { applied: [NEXT_MIGRATION], ahead: [] });
});

t.test("the code of N's pnpm migrate accepts it and says so", async (t) => {
  const cli = fileURLToPath(new URL('../../../packages/db/src/cli/migrate.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--conditions=development', cli], {
    env: { ...process.env, DATABASE_URL: database.migrationUrl },
    timeout: 60_000,
  });
  t.match(
    stdout,
    `database schema is ahead of this code: 1 newer migration (${NEXT_MIGRATION}); running on the expanded schema ✓`,
  );
});

t.test('the code of N starts on it and serves a create and a list', async (t) => {
  // startLocalStack migrates with this code's migrations too (`pnpm start`), then starts todo-write and todo-read.
  let console = '';
  const stack = await startLocalStack({
    databaseUrl: database.url,
    port: 0,
    readReplicas: 1,
    serviceEnv: { ...TEST_SERVICE_ENV },
    console: { write: (text: string) => (console += text) },
  });
  t.teardown(() => stack.stop());
  t.match(
    console,
    `migrations: database schema is ahead of this code: 1 newer migration (${NEXT_MIGRATION}); running on the expanded schema ✓`,
  );

  const created = await fetch(`${stack.url}/api/v1/todos`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'written by the code of N' }),
  });
  t.equal(created.status, 201, 'create answers 201');
  const todo = (await created.json()) as { id: number; title: string };
  t.notOk('priority' in todo, "the new column stays out of N's answers");

  const list = await fetch(`${stack.url}/api/v1/todos`);
  t.equal(list.status, 200, 'list answers 200');
  const todos = (await list.json()) as Array<{ id: number }>;
  t.ok(
    todos.some((listed) => listed.id === todo.id),
    'the new todo is listed',
  );

  t.same(
    await query('SELECT priority FROM todos WHERE id = $1', [todo.id]),
    [{ priority: 0 }],
    "N's insert got N+1's default",
  );
});

t.test('a history that does not extend the code is refused, and nothing applied', async (t) => {
  // Code with a migration that sorts before the one the database applied last (another branch's, say).
  const CREATE_TABLE: Migrations[string] = {
    async up(db) {
      await db.schema.createTable('diverged').addColumn('id', 'integer').execute();
    },
  };
  const error = await withDb(database.migrationUrl, (db) =>
    migrateToLatest(db, { ...MIGRATIONS, '0004_diverged': CREATE_TABLE }),
  ).catch((failure: unknown) => failure as Error & { code?: string });
  t.equal((error as { code?: string }).code, 'TASKOVERFLOW_MIGRATIONS_DIVERGED');
  t.match((error as Error).message, `0004_diverged are not applied, but the database has applied ${NEXT_MIGRATION}`);
  t.same(
    await query("SELECT to_regclass('diverged') IS NOT NULL AS exists"),
    [{ exists: false }],
    'the pending migration did not run',
  );
});
