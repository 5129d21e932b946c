/**
 * The data layer under connection faults, against the real test PostgreSQL: a connection that
 * breaks while a request holds it must fail that request with an error the services answer
 * with 503 — never crash the process, never be handed to the next request.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createDb, DatabaseUnavailableError, poolConfig, QUERY_DEADLINE_MARGIN_MS } from '@taskoverflow/db';
import { DATABASE_UNAVAILABLE_CODE } from '@taskoverflow/domain';
import { findFreePort } from '@taskoverflow/stack';
import { createTestDatabase, TEST_SERVICE_ENV } from '@taskoverflow/stack/testing';
import pg from 'pg';
import t from 'tap';
import { buildTodoWriteApp, loadConfig } from '../src/app.js';

const STATEMENT_TIMEOUT_MS = 200;

const database = await createTestDatabase();
t.teardown(() => database.drop());
const pool = new pg.Pool(
  poolConfig({
    connectionString: database.url,
    applicationName: 'connection-faults',
    statementTimeoutMillis: STATEMENT_TIMEOUT_MS,
  }),
);
pool.on('error', () => {}); // idle connections killed below: what the database plugin logs
t.teardown(() => pool.end());
const db = createDb(pool);
const admin = new pg.Pool({ connectionString: database.url, max: 1 });
t.teardown(() => admin.end());

/** What a failed query or transaction rejected with: the error's code and its cause's message. */
function failure(error: unknown): { code: unknown; cause: string } {
  const { code, cause } = error as { code?: unknown; cause?: unknown };
  return { code, cause: cause instanceof Error ? cause.message : '' };
}

const backendPid = async (trx: typeof db) =>
  (await trx.selectNoFrom((eb) => eb.fn<number>('pg_backend_pid', []).as('pid')).executeTakeFirstOrThrow()).pid;

t.test('a connection that dies between two statements of a transaction fails it, and the process lives', async (t) => {
  let firstPid = 0;
  const outcome = await db
    .transaction()
    .execute(async (trx) => {
      firstPid = await backendPid(trx);
      await admin.query('select pg_terminate_backend($1)', [firstPid]);
      // The termination reaches the client while no query runs: an 'error' event nobody
      // listened for used to take the whole process down here. Once the backend is gone it
      // has sent its FATAL and closed the socket.
      const deadline = Date.now() + 10_000;
      while ((await admin.query('select 1 from pg_stat_activity where pid = $1', [firstPid])).rowCount !== 0) {
        if (Date.now() > deadline) throw new Error(`backend ${firstPid} still there 10 s after pg_terminate_backend`);
        await sleep(20);
      }
      return backendPid(trx);
    })
    .then(() => ({ code: 'committed', cause: '' }), failure);
  t.equal(
    outcome.code,
    DATABASE_UNAVAILABLE_CODE,
    `the transaction failed with a database-unavailable error (cause: ${outcome.cause})`,
  );
  const next = await backendPid(db);
  t.not(next, firstPid, 'the next query runs on a fresh connection');
});

t.test('a query the server never answers fails at its deadline, and its connection is not reused', async (t) => {
  const deadline = STATEMENT_TIMEOUT_MS + QUERY_DEADLINE_MARGIN_MS;
  let frozenPid = 0;
  const started = performance.now();
  const outcome = await db
    .connection()
    .execute(async (connection) => {
      frozenPid = await backendPid(connection);
      // The server process stops answering, as a frozen or vanished server does; its own
      // statement timeout cannot fire.
      process.kill(frozenPid, 'SIGSTOP');
      return backendPid(connection);
    })
    .then(() => ({ code: 'answered', cause: '' }), failure)
    .finally(() => frozenPid > 0 && process.kill(frozenPid, 'SIGCONT'));
  const waitedMs = performance.now() - started;
  t.equal(
    outcome.code,
    DATABASE_UNAVAILABLE_CODE,
    `the query failed with a database-unavailable error (cause: ${outcome.cause})`,
  );
  t.ok(
    waitedMs >= deadline - 50 && waitedMs < deadline + 2_000,
    `after ${waitedMs.toFixed(0)} ms (deadline ${deadline} ms)`,
  );
  const next = await backendPid(db);
  t.not(next, frozenPid, 'the next query runs on a fresh connection, not behind the lost answer');
});

t.test(
  'a database nobody listens for fails with a database-unavailable error, and the service answers 503',
  async (t) => {
    const url = new URL(database.url);
    url.port = String(await findFreePort()); // nothing listens there: PostgreSQL there refuses every connection
    const unreachable = new pg.Pool(poolConfig({ connectionString: url.href, applicationName: 'connection-faults' }));
    t.teardown(() => unreachable.end());
    const outcome = await backendPid(createDb(unreachable)).then(() => ({ code: 'answered', cause: '' }), failure);
    t.equal(outcome.code, DATABASE_UNAVAILABLE_CODE, `refused (cause: ${outcome.cause})`);

    const app = await buildTodoWriteApp(
      loadConfig({ ...TEST_SERVICE_ENV, DATABASE_URL: url.href, LOG_LEVEL: 'silent' }),
    );
    t.teardown(() => app.close());
    const response = await app.inject({ method: 'POST', url: '/api/v1/todos', payload: { title: 'no database' } });
    t.equal(response.statusCode, 503);
    t.equal(response.headers['retry-after'], '1');
    t.same(response.json(), { error: 'database unavailable, retry shortly' });
  },
);

t.test("PostgreSQL's answer to a wrong query stays its own error, not an outage", async (t) => {
  const error: unknown = await db
    .selectNoFrom((eb) => eb.fn<number>('no_such_function', []).as('x'))
    .execute()
    .then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
  t.notOk(error instanceof DatabaseUnavailableError, 'not a database-unavailable error');
  t.equal((error as { code?: unknown }).code, '42883', "PostgreSQL's SQLSTATE: undefined function");
});
