/**
 * Test helpers, imported as `@taskoverflow/stack/testing`. `pnpm test` provides the PostgreSQL
 * server: it sets TEST_DATABASE_URL before it runs tap.
 */
import { randomBytes } from 'node:crypto';
import { databaseUrlFor, dropDatabase, ensureDatabase, migrateDatabase } from './database.js';

/**
 * Service settings for test stacks that are not about overload: no shedding on event-loop
 * delay. Beside other test files on two cores a replica can be descheduled for half a second,
 * and the 503s it would then rightly shed would fail a test about something else
 * (test/faults/overload.test.ts and http-kit's load-shedding test cover shedding).
 */
export const WITHOUT_EVENT_LOOP_SHEDDING: Readonly<Record<string, string>> = { SHED_EVENT_LOOP_DELAY_MS: '0' };

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
