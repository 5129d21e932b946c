/**
 * Fail fast at start-up: a service that cannot use its database or its configured Redis exits
 * with one line saying what and where, before it listens. Each service runs as a real process
 * against the real PostgreSQL `pnpm test` provides.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureLocalServiceRoles, serviceDatabaseUrl } from '@taskoverflow/stack';
import { createTestDatabase } from '@taskoverflow/stack/testing';
import t from 'tap';

const database = await createTestDatabase();
t.teardown(() => database.drop());
await ensureLocalServiceRoles(process.env.TEST_DATABASE_URL!);

const SERVICES = ['todo-read', 'todo-write'] as const;
/** Generous for a busy machine; the child is killed past it. */
const START_TIMEOUT_MS = 40_000;

/** Runs a service until it exits; its exit code and stderr. */
async function start(service: (typeof SERVICES)[number], env: Record<string, string>) {
  const entry = fileURLToPath(new URL(`../../${service}/src/server.ts`, import.meta.url));
  const { DATABASE_URL: _database, REDIS_URL: _redis, ...inherited } = process.env;
  try {
    await promisify(execFile)(process.execPath, ['--import', 'tsx', '--conditions=development', entry], {
      env: { ...inherited, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', ...env },
      timeout: START_TIMEOUT_MS,
    });
    return { code: 0, stderr: '' };
  } catch (error) {
    const { code, signal, stderr } = error as { code?: number; signal?: string; stderr: string };
    return { code: code ?? signal, stderr };
  }
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

for (const service of SERVICES) {
  t.test(`${service} with a wrong database password exits with one clear line`, async (t) => {
    const url = new URL(serviceDatabaseUrl(database.url, service));
    url.password = 'wrong-password';
    const { code, stderr } = await start(service, { DATABASE_URL: url.href });
    t.equal(code, 1, 'exits 1');
    const lines = stderr.trimEnd().split('\n');
    t.equal(lines.length, 1, `one line: ${stderr}`);
    t.match(
      lines[0],
      new RegExp(
        `^${service} failed to start: cannot use PostgreSQL at ${url.username}@${url.host}${url.pathname}: password authentication failed`,
      ),
    );
    t.match(lines[0], /Check DATABASE_URL and PGPASSWORD/, 'names the fix');
  });

  t.test(`${service} with REDIS_URL set but no Redis there exits with one clear line`, async (t) => {
    const redisUrl = `redis://127.0.0.1:${await closedPort()}`;
    const { code, stderr } = await start(service, { DATABASE_URL: serviceDatabaseUrl(database.url, service), REDIS_URL: redisUrl });
    t.equal(code, 1, 'exits 1');
    const lines = stderr.trimEnd().split('\n');
    t.equal(lines.length, 1, `one line: ${stderr}`);
    t.match(lines[0], new RegExp(`^${service} failed to start: cannot use Redis at ${redisUrl}/?: .*ECONNREFUSED`));
  });
}
