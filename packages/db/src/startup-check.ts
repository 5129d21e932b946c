import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { poolConfig, type PoolSettings } from './connection.js';
import { DatabaseUnreachableError } from './errors.js';

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
    throw new DatabaseUnreachableError(describeTarget(settings.connectionString), (error as Error).message, {
      cause: error,
    });
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

/** How long waitForDatabase waits between attempts. */
const RETRY_INTERVAL_MS = 1_000;

/** SQLSTATE cannot_connect_now: the server is starting up (or shutting down, or in recovery). */
const CANNOT_CONNECT_NOW = '57P03';

/**
 * Whether a failure to connect may pass by itself: nothing listens yet (refused), the name
 * does not resolve yet, the connection was reset or timed out, or the server says it is
 * starting. What a retry cannot fix is not: PostgreSQL's other answers (a wrong password, a
 * missing database) and TLS failures (a certificate the CA bundle does not verify).
 */
export function isPassingConnectFailure(error: unknown): boolean {
  if (error instanceof pg.DatabaseError) return error.code === CANNOT_CONNECT_NOW;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^(ERR_TLS_|ERR_SSL_)|CERT|SELF_SIGNED|UNABLE_TO_/.test(code)) return false;
  return error instanceof Error;
}

/**
 * Connects to the database once it accepts connections, for at most `timeoutMs`: a one-shot
 * task started beside its database (docker compose's first start) must not fail because
 * PostgreSQL is still starting. Each failed attempt that may pass is reported (`onRetry`) and
 * tried again a second later; any other failure, or the last one past the deadline, is a
 * DatabaseUnreachableError.
 */
export async function waitForDatabase(
  settings: PoolSettings,
  { timeoutMs, onRetry }: { timeoutMs: number; onRetry: (reason: string, remainingMs: number) => void },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await checkDatabaseConnection(settings);
      return;
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause;
      const remainingMs = deadline - Date.now();
      if (!isPassingConnectFailure(cause) || remainingMs <= RETRY_INTERVAL_MS) throw error;
      onRetry((cause as Error).message || String((cause as { code?: unknown }).code), remainingMs);
      await sleep(RETRY_INTERVAL_MS);
    }
  }
}
