import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import t from 'tap';
import { startEmbeddedPostgres } from '../src/postgres.js';

/** Generous bound for what takes milliseconds: a SIGINTed server exiting, stop() noticing it is gone. */
const GONE_WITHIN_MS = 10_000;

async function query(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

// Data dirs go two levels below a fresh temporary directory, which the tests must make
// reachable for the postgres user themselves (mkdtemp gives 0700) when they run as root.
const tempDir = await mkdtemp(join(tmpdir(), 'taskoverflow-postgres-test-'));
await chmod(tempDir, 0o755);
t.teardown(() => rm(tempDir, { recursive: true, force: true }));

t.test('initialises a new data directory, then reuses it with its data', async (t) => {
  const dataDir = join(tempDir, 'nested', 'data');

  const first = await startEmbeddedPostgres({ dataDir });
  t.teardown(() => first.stop());
  t.equal(first.created, true);
  t.match(first.adminUrl, /^postgres:\/\/postgres:postgres@127\.0\.0\.1:\d+\/postgres$/);
  await query(first.adminUrl, `CREATE TABLE kept (note text); INSERT INTO kept VALUES ('still here')`);
  await first.stop();
  await first.stop();
  t.notOk(existsSync(join(dataDir, 'postmaster.pid')), 'stopped, and stop() again is harmless');

  const second = await startEmbeddedPostgres({ dataDir, settings: { max_connections: '42' } });
  t.teardown(() => second.stop());
  t.equal(second.created, false);
  t.not(second.port, first.port, 'each start picks a free port');
  t.same((await query(second.adminUrl, 'SELECT note FROM kept')).rows, [{ note: 'still here' }]);
  t.same(
    (await query(second.adminUrl, 'SHOW max_connections')).rows,
    [{ max_connections: '42' }],
    'settings are applied',
  );
});

t.test('stop() returns at once when the server is gone already, as after a Ctrl-C', async (t) => {
  const dataDir = join(tempDir, 'interrupted');
  const postgres = await startEmbeddedPostgres({ dataDir });
  const pidFile = join(dataDir, 'postmaster.pid');
  process.kill(Number.parseInt(readFileSync(pidFile, 'utf8'), 10), 'SIGINT');
  // PostgreSQL removes its pid file last on the way out.
  const deadline = Date.now() + GONE_WITHIN_MS;
  while (existsSync(pidFile) && Date.now() < deadline) await sleep(20);
  t.notOk(existsSync(pidFile), `the interrupted server exited within ${GONE_WITHIN_MS} ms`);

  const giveUp = new AbortController();
  const stopped = await Promise.race([
    postgres.stop().then(() => 'stopped'),
    sleep(GONE_WITHIN_MS, `still waiting after ${GONE_WITHIN_MS} ms`, { signal: giveUp.signal }),
  ]).finally(() => giveUp.abort());
  t.equal(stopped, 'stopped', 'stop() resolves instead of waiting for a server that is gone');
  await t.rejects(query(postgres.adminUrl, 'SELECT 1'), { code: 'ECONNREFUSED' }, 'nothing listens on its port');
});

t.test('says why when the server cannot start', async (t) => {
  const dataDir = join(tempDir, 'busy');
  const running = await startEmbeddedPostgres({ dataDir });
  t.teardown(() => running.stop());
  await t.rejects(startEmbeddedPostgres({ dataDir }), {
    code: 'TASKOVERFLOW_POSTGRES_START_FAILED',
    cause: { code: 'TASKOVERFLOW_POSTGRES_EXITED' },
    message:
      /^PostgreSQL did not start \(data in .*busy, port \d+\): postgres exited \(exit code 1\); its last output:\n.*lock file "postmaster\.pid" already exists/s,
  });
});
