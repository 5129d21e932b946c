/**
 * Test helpers, imported as `@taskoverflow/stack/testing`. `pnpm test` provides the PostgreSQL
 * server: it sets TEST_DATABASE_URL before it runs tap.
 */
import { randomBytes } from 'node:crypto';
import { databaseUrlFor, dropDatabase, ensureDatabase, migrateDatabase } from './database.js';
import { startLocalStack, type LocalStack, type LocalStackOptions } from './stack.js';

export interface TestDatabase {
  /** URL of a new, migrated database that only this test uses. */
  url: string;
  /** Drops the database, closing any connections still open to it. Safe to call more than once. */
  drop(): Promise<void>;
}

/**
 * Creates a migrated database of its own for one test. Each has a unique name, so test files
 * that tap runs in parallel never see each other's rows.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    throw new Error(
      'TEST_DATABASE_URL is not set. Run the tests with `pnpm test` (it starts a throwaway PostgreSQL and sets it), ' +
        'or set it to the URL of a PostgreSQL role allowed to CREATE DATABASE.',
    );
  }
  const name = `test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await ensureDatabase(adminUrl, name);
  let dropping: Promise<void> | undefined;
  const drop = (): Promise<void> => (dropping ??= dropDatabase(adminUrl, name));

  const url = databaseUrlFor(adminUrl, name);
  try {
    await migrateDatabase(url);
  } catch (error) {
    await drop();
    throw error;
  }
  return { url, drop };
}

/**
 * A test stack's services do not shed load on event-loop delay: beside other test files on
 * two cores a replica can be descheduled for half a second, and the 503s it would then
 * rightly shed would fail a test about something else. Tests of shedding set their own
 * SHED_EVENT_LOOP_DELAY_MS in serviceEnv. Exported for tests that start a stack on a server
 * of their own or build a service in-process (spread it into serviceEnv or loadConfig).
 */
export const TEST_SERVICE_ENV: Readonly<Record<string, string>> = { SHED_EVENT_LOOP_DELAY_MS: '0' };

/** What owns a test stack and cleans up after it: a tap test (`t`). */
export interface TestStackOwner {
  teardown(cleanUp: () => Promise<void>): void;
}

/**
 * The local split stack for one test file: quiet, on free ports, over a migrated database of
 * its own (`stack.databaseUrl`), and without event-loop shedding unless serviceEnv asks for
 * it. The owner's clean-up stops the stack before it drops the database.
 */
export async function startTestStack(
  owner: TestStackOwner,
  { serviceEnv, ...options }: Omit<LocalStackOptions, 'databaseUrl' | 'port' | 'quiet'> = {},
): Promise<LocalStack> {
  const database = await createTestDatabase();
  let stack: LocalStack;
  try {
    stack = await startLocalStack({ ...options, databaseUrl: database.url, port: 0, quiet: true, serviceEnv: { ...TEST_SERVICE_ENV, ...serviceEnv } });
  } catch (error) {
    await database.drop();
    throw error;
  }
  owner.teardown(async () => {
    try {
      await stack.stop();
    } finally {
      await database.drop();
    }
  });
  return stack;
}
