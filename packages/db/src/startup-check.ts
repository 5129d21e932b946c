import createError from '@fastify/error';
import pg from 'pg';
import { poolConfig, type PoolSettings } from './connection.js';

/** The database named by DATABASE_URL cannot be used: a wrong password, TLS, DNS or network. */
export const DatabaseUnreachableError = createError<
  'TASKOVERFLOW_DATABASE_UNREACHABLE',
  [target: string, reason: string, options: { cause: unknown }]
>(
  'TASKOVERFLOW_DATABASE_UNREACHABLE',
  "cannot use PostgreSQL at %s: %s. Check DATABASE_URL and PGPASSWORD (on AWS: the role's secret), " +
    'the CA bundle its sslrootcert names, and that the database admits this host (security group)',
);

/**
 * One connection and round trip to PostgreSQL with the service's own settings (credentials,
 * TLS, timeouts), before the service builds and listens: a task that cannot use its database
 * exits, and a deploy of it is rolled back, instead of passing the (database-free) health
 * check and failing every uncached request.
 */
export async function checkDatabaseConnection(settings: PoolSettings): Promise<void> {
  const client = new pg.Client(poolConfig(settings));
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new DatabaseUnreachableError(describeTarget(settings.connectionString), (error as Error).message, { cause: error });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** user@host:port/database of a DATABASE_URL, without its password. */
function describeTarget(connectionString: string): string {
  const url = new URL(connectionString);
  const user = url.username || process.env.PGUSER || '(default user)';
  return `${decodeURIComponent(user)}@${url.host}${url.pathname}`;
}
