import pg from 'pg';
import t from 'tap';
import { ensureDatabase } from '../src/database.js';
import { createTestDatabase, startTestStack } from '../src/testing.js';

const adminUrl = process.env.TEST_DATABASE_URL!;

async function query(url: string, sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql, values);
  } finally {
    await client.end();
  }
}

const databaseExists = async (name: string): Promise<boolean> =>
  (await query(adminUrl, 'SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;

t.test('createTestDatabase creates a migrated database of its own, and drop() removes it', async (t) => {
  const database = await createTestDatabase();
  const other = await createTestDatabase();
  t.teardown(() => other.drop());
  const name = new URL(database.url).pathname.slice(1);
  t.match(name, new RegExp(`^test_${process.pid}_[0-9a-f]{8}$`));
  t.not(other.url, database.url);

  t.same(
    (await query(database.url, 'SELECT count(*)::int AS todos FROM todos')).rows,
    [{ todos: 0 }],
    'table todos exists',
  );

  // Drops even while a connection is open, as a test that forgot to close its pool leaves one.
  const lingering = new pg.Client({ connectionString: database.url });
  lingering.on('error', () => {}); // it is terminated by the drop
  await lingering.connect();
  await database.drop();
  await database.drop();
  t.equal(await databaseExists(name), false);
});

t.test(
  'startTestStack: a stack over a database of its own; the clean-up stops it, then drops the database',
  async (t) => {
    const cleanUps: Array<() => Promise<void>> = [];
    const stack = await startTestStack({ teardown: (cleanUp) => void cleanUps.push(cleanUp) }, { readReplicas: 1 });
    t.equal(cleanUps.length, 1, 'one clean-up, so the order is certain');
    const name = new URL(stack.databaseUrl).pathname.slice(1);
    t.match(name, new RegExp(`^test_${process.pid}_`), 'a test database');
    t.equal((await fetch(`${stack.url}/api/v1/todos`)).status, 200, 'serving');

    await cleanUps[0]!();
    await t.rejects(fetch(`${stack.url}/api/v1/todos`), 'stopped');
    t.equal(await databaseExists(name), false, 'and its database dropped');
  },
);

t.test('ensureDatabase creates a database once and leaves it alone after', async (t) => {
  const name = `ensure_${process.pid}`;
  t.teardown(() => query(adminUrl, `DROP DATABASE IF EXISTS ${name}`));
  await ensureDatabase(adminUrl, name);
  await ensureDatabase(adminUrl, name);
  t.equal(await databaseExists(name), true);
});

t.test('createTestDatabase says how to run the tests when TEST_DATABASE_URL is unset', async (t) => {
  delete process.env.TEST_DATABASE_URL;
  t.teardown(() => void (process.env.TEST_DATABASE_URL = adminUrl));
  await t.rejects(createTestDatabase(), { message: /^TEST_DATABASE_URL is not set\. Run the tests with `pnpm test`/ });
});
