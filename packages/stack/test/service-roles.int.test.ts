/**
 * The services' least-privilege roles, as the local stack sets them up (the same migration and
 * ensureServiceRoles run on AWS), against the real PostgreSQL `pnpm test` provides.
 */
import { SERVICE_ROLES } from '@taskoverflow/db';
import t from 'tap';
import { ensureLocalServiceRoles, serviceDatabaseUrl } from '../src/database.js';
import { createTestDatabase, sqlOutcome } from '../src/testing.js';

const adminUrl = process.env.TEST_DATABASE_URL!;
const database = await createTestDatabase();
t.teardown(() => database.drop());
await ensureLocalServiceRoles(adminUrl);

const PERMISSION_DENIED = '42501';
const INVALID_PASSWORD = '28P01';
const readUrl = serviceDatabaseUrl(database.url, 'todo-read');
const writeUrl = serviceDatabaseUrl(database.url, 'todo-write');

t.test('todo-read connects as its own role', async (t) => {
  t.equal(new URL(readUrl).username, SERVICE_ROLES['todo-read']);
  t.equal(await sqlOutcome(readUrl, 'SELECT id FROM todos'), 'ok', 'reads todos');
});

t.test('todo-read cannot write', async (t) => {
  const attempts = [
    // An explicit id: the table's privilege is what is refused, not the id sequence's.
    "INSERT INTO todos (id, title) VALUES (-1, 'from the read role')",
    "UPDATE todos SET title = 'x'",
    'DELETE FROM todos',
    "INSERT INTO idempotency_keys (key, request_hash) VALUES ('k', 'h')",
    'CREATE TABLE read_role_table (id int)',
    'DROP TABLE todos',
  ];
  const outcomes = await Promise.all(attempts.map((statement) => sqlOutcome(readUrl, statement)));
  t.same(
    outcomes,
    attempts.map(() => PERMISSION_DENIED),
    'each is refused: permission denied',
  );
});

t.test('todo-write changes rows but not the schema', async (t) => {
  for (const [statement, what] of [
    ["INSERT INTO todos (title) VALUES ('from the write role')", 'inserts (and uses the id sequence)'],
    ["UPDATE todos SET completed = true WHERE title = 'from the write role'", 'updates'],
    ["INSERT INTO idempotency_keys (key, request_hash) VALUES ('k', 'h')", 'records idempotency keys'],
    ["DELETE FROM todos WHERE title = 'from the write role'", 'deletes'],
  ] as const) {
    t.equal(await sqlOutcome(writeUrl, statement), 'ok', what);
  }
  const ddl = [
    'CREATE TABLE write_role_table (id int)',
    'DROP TABLE todos',
    'ALTER TABLE todos ADD COLUMN extra int',
    'TRUNCATE todos',
  ];
  const outcomes = await Promise.all(ddl.map((statement) => sqlOutcome(writeUrl, statement)));
  t.same(
    outcomes,
    ddl.map(() => PERMISSION_DENIED),
    'no DDL: permission denied',
  );
});

t.test('a service role logs in only with its password', async (t) => {
  const wrong = new URL(readUrl);
  wrong.password = 'not-the-password';
  t.equal(await sqlOutcome(wrong.href, 'SELECT 1'), INVALID_PASSWORD);
});
