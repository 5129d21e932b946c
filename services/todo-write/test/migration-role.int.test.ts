/**
 * The migration role as docs/deploy.md sets it up: `pnpm migrate --bootstrap`, run by the
 * administrator on a database it had migrated itself (a stack from before the role), hands the
 * schema to taskoverflow_migrate; that role then migrates and may set the service roles'
 * passwords, but is no superuser. And `pnpm migrate` waits for a database that does not accept
 * connections yet (docker compose's first start) instead of failing. Against the real
 * PostgreSQL `pnpm test` provides; the CLI runs as a real process.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createDb, ensureServiceRoles, migrateDatabaseAt, MIGRATION_ROLE } from '@taskoverflow/db';
import {
  databaseUrlFor,
  dropDatabase,
  ensureDatabase,
  findFreePort,
  LOCAL_MIGRATION_PASSWORD,
  LOCAL_ROLE_PASSWORDS,
  migrationDatabaseUrl,
  repoRoot,
} from '@taskoverflow/stack';
import { sqlOutcome, waitUntil } from '@taskoverflow/stack/testing';
import pg from 'pg';
import t from 'tap';

const adminUrl = process.env.TEST_DATABASE_URL!;
const name = `migration_role_${process.pid}`;
await ensureDatabase(adminUrl, name);
t.teardown(() => dropDatabase(adminUrl, name));
const databaseUrl = databaseUrlFor(adminUrl, name);
const migrationUrl = migrationDatabaseUrl(databaseUrl);

/** Generous for a busy machine; the CLI is killed past it. */
const CLI_TIMEOUT_MS = 60_000;
const CLI = fileURLToPath(new URL('../../../packages/db/src/cli/migrate.ts', import.meta.url));

/** Starts the migrate CLI; its output so far, and its exit. */
function startCli(args: string[], env: Record<string, string>) {
  const { DATABASE_URL: _inherited, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=development', CLI, ...args], {
    env: { ...inherited, ...env },
    timeout: CLI_TIMEOUT_MS,
  });
  let output = '';
  for (const stream of [child.stdout, child.stderr])
    stream.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = once(child, 'close').then(([code]) => ({ code: code as number | null, output }));
  return { output: () => output, exited };
}

async function query<Row>(url: string, text: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows as Row[];
  } finally {
    await client.end();
  }
}

const owners = () =>
  query<{ tablename: string; tableowner: string }>(
    databaseUrl,
    "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
  );

t.test('bootstrap hands a schema the administrator migrated to taskoverflow_migrate', async (t) => {
  await migrateDatabaseAt(databaseUrl);
  const adminRole = new URL(adminUrl).username;
  t.ok(
    (await owners()).every((table) => table.tableowner === adminRole),
    'before: the administrator owns every table',
  );
  const { code, output } = await startCli(['--bootstrap'], {
    DATABASE_URL: databaseUrl,
    TASKOVERFLOW_MIGRATE_PASSWORD: LOCAL_MIGRATION_PASSWORD,
  }).exited;
  t.equal(code, 0, output);
  t.match(output, `${MIGRATION_ROLE} logs in, owns the schema and may create roles ✓`);
  t.same(
    (await owners()).map((table) => [table.tablename, table.tableowner]),
    ['idempotency_keys', 'kysely_migration', 'kysely_migration_lock', 'todos'].map((table) => [table, MIGRATION_ROLE]),
    'after: taskoverflow_migrate owns every table, kysely_migration included',
  );
});

t.test('taskoverflow_migrate migrates and administers the service roles, and is no superuser', async (t) => {
  const { code, output } = await startCli([], { DATABASE_URL: migrationUrl }).exited;
  t.equal(code, 0, output);
  t.match(output, 'already up to date ✓');
  // As the migrate CLI does with TASKOVERFLOW_*_PASSWORD, but in the `postgres` database, where
  // every test file's changes to these server-wide roles take one lock.
  const pool = new pg.Pool({ connectionString: databaseUrlFor(migrationUrl, 'postgres'), max: 1 });
  await t
    .resolves(ensureServiceRoles(createDb(pool), LOCAL_ROLE_PASSWORDS), "sets the service roles' passwords")
    .finally(() => pool.end());
  t.same(
    await query(
      databaseUrl,
      `SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname = '${MIGRATION_ROLE}'`,
    ),
    [{ rolsuper: false, rolcreatedb: false, rolcreaterole: true, rolcanlogin: true }],
    'LOGIN and CREATEROLE only',
  );
  for (const [statement, what] of [
    ['CREATE DATABASE made_by_the_migration_role', 'cannot create a database'],
    ['ALTER ROLE postgres NOLOGIN', 'cannot alter a role it does not administer'],
  ] as const) {
    t.equal(await sqlOutcome(migrationUrl, statement), '42501', what);
  }
});

t.test('migrate waits for a database that does not accept connections yet', async (t) => {
  // A port nothing listens on yet; once the CLI has said it retries, a TCP hop to PostgreSQL opens there.
  const hop: Server = createServer();
  await new Promise<void>((resolve) => hop.listen(0, '127.0.0.1', resolve));
  const { port } = hop.address() as { port: number };
  await new Promise((resolve) => hop.close(resolve));
  const delayedUrl = new URL(migrationUrl);
  delayedUrl.host = `127.0.0.1:${port}`;

  const cli = startCli([], { DATABASE_URL: delayedUrl.href });
  const deadline = Date.now() + CLI_TIMEOUT_MS;
  while (!cli.output().includes('is not accepting connections yet') && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50));
  t.match(
    cli.output(),
    new RegExp(
      `PostgreSQL at 127.0.0.1:${port}/${name} is not accepting connections yet \\(.*ECONNREFUSED.*\\); retrying for \\d+ s more`,
    ),
  );

  const postgres = new URL(databaseUrl);
  const forwarding = createServer((socket) => {
    const upstream = connect({ host: postgres.hostname, port: Number(postgres.port) });
    socket.pipe(upstream).pipe(socket);
    for (const end of [socket, upstream]) end.on('error', () => [socket, upstream].forEach((s) => s.destroy()));
  });
  await new Promise<void>((resolve) => forwarding.listen(port, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => forwarding.close(resolve)));
  const { code, output } = await cli.exited;
  t.equal(code, 0, output);
  t.match(output, 'already up to date ✓', 'then migrates');
});

t.test('Ctrl-C on pnpm migrate, sent to its process group as a terminal does: one line, exit 0', async (t) => {
  const closedPort = await findFreePort(); // free: nothing listens there
  const waitingUrl = new URL(migrationUrl);
  waitingUrl.host = `127.0.0.1:${closedPort}`;
  const { DATABASE_URL: _url, npm_lifecycle_event: _script, ...inherited } = process.env;
  const pnpm = spawn('pnpm', ['migrate'], {
    cwd: repoRoot,
    detached: true,
    env: { ...inherited, DATABASE_URL: waitingUrl.href },
    timeout: CLI_TIMEOUT_MS,
  });
  let output = '';
  for (const stream of [pnpm.stdout, pnpm.stderr])
    stream.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const closed = once(pnpm, 'close');
  await waitUntil(
    'pnpm migrate waiting for PostgreSQL',
    () => output.includes('not accepting connections yet') || undefined,
  );

  process.kill(-pnpm.pid!, 'SIGINT');
  const [code] = (await closed) as [number | null];
  t.equal(code, 0, output);
  t.match(output, /\nSIGINT: stopped\n/, 'one line says so');
  t.notMatch(output, /ELIFECYCLE|Command failed/, 'pnpm reports no failure');
  t.notMatch(output, /^\s+at /m, 'no stack trace');
});
