/**
 * todo-read's request log, in-process over real PostgreSQL and a redis-server of its own,
 * logging to LOG_FILE as under `pnpm start`: one canonical `request finished` line per request
 * with its cache outcome and database figures, no `request started` or `cache` lines at info,
 * and the `stats` line. Closing the app writes the last stats line and flushes the file, so
 * each test reads the file once, after closing.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisServer } from '@taskoverflow/stack';
import { busyWait, createTestDatabase } from '@taskoverflow/stack/testing';
import pg from 'pg';
import t from 'tap';
import { buildTodoReadApp, loadConfig } from '../src/app.js';

type LogLine = Record<string, unknown> & { msg: string; request_id?: string };

/** Every field of the stats line, as the `pnpm start` console reads them. */
const STATS_FIELDS = [
  'interval_ms',
  'requests',
  'rps',
  'p50_ms',
  'p95_ms',
  'p99_ms',
  'status_5xx',
  'shed',
  'rate_limited',
  'cache_hit',
  'cache_miss',
  'cache_stale',
  'cache_bypass',
  'db_queries',
  'event_loop_delay_p99_ms',
  'rss_mb',
  'cpu_ms',
];

const database = await createTestDatabase();
const redis = await startRedisServer();
const logDir = await mkdtemp(join(tmpdir(), 'taskoverflow-request-log-'));
const pool = new pg.Pool({ connectionString: database.url });
t.teardown(async () => {
  await pool.end();
  await redis.stop();
  await database.drop();
  await rm(logDir, { recursive: true, force: true });
});
await pool.query("insert into todos (title) values ('first'), ('second')");

/** A todo-read listening on loopback, logging to its own file. */
async function startTodoRead(name: string, env: Record<string, string>) {
  const logFile = join(logDir, `${name}.log`);
  const app = await buildTodoReadApp(
    loadConfig({
      DATABASE_URL: database.url,
      SHED_EVENT_LOOP_DELAY_MS: '0',
      LOG_FILE: logFile,
      STATS_INTERVAL_MS: '60000',
      ...env,
    }),
  );
  t.teardown(() => app.close());
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const readLines = async (): Promise<LogLine[]> =>
    (await readFile(logFile, 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as LogLine);
  return {
    app,
    get: (path: string, requestId: string) => fetch(`${base}${path}`, { headers: { 'x-request-id': requestId } }),
    /** Closes the app (which flushes its log file) and returns the file's lines. */
    async closeAndReadLines(): Promise<LogLine[]> {
      await app.close();
      return readLines();
    },
    /** Resolves once a line matching `matches` is in the file (written asynchronously); fails after 5 s. */
    async waitForLine(matches: (line: LogLine) => boolean): Promise<void> {
      const deadline = Date.now() + 5_000;
      while (!(await readLines()).some(matches)) {
        if (Date.now() > deadline) throw new Error(`${logFile}: the line waited for was not written within 5 s`);
        await sleep(20);
      }
    },
  };
}

function linesOf(lines: LogLine[], requestId: string): LogLine[] {
  return lines.filter((line) => line.request_id === requestId);
}

function finishedLine(lines: LogLine[], requestId: string): LogLine | undefined {
  return linesOf(lines, requestId).find((line) => line.msg === 'request finished');
}

t.test('one canonical line per request: miss, memory hit, 404; the stats line counts them', async (t) => {
  const service = await startTodoRead('todo-read-cached', { REDIS_URL: redis.url });
  // Until its client has connected, the cache is bypassed: not what this test is about.
  await service.waitForLine((line) => line.msg === 'redis connected');
  const miss = await service.get('/api/v1/todos', 'log-miss');
  const missBytes = (await miss.arrayBuffer()).byteLength;
  const hit = await service.get('/api/v1/todos', 'log-hit');
  await hit.arrayBuffer();
  const unknownRoute = await service.get('/api/v1/nothing-here', 'log-404');
  await unknownRoute.arrayBuffer();
  t.same([miss.status, hit.status, unknownRoute.status], [200, 200, 404]);
  const lines = await service.closeAndReadLines();

  for (const id of ['log-miss', 'log-hit', 'log-404']) {
    t.same(
      linesOf(lines, id)
        .filter((line) => line.msg !== 'query')
        .map((line) => line.msg),
      ['request finished'],
      `${id}: one line besides its SQL (no request started, no cache line)`,
    );
  }
  const missLine = finishedLine(lines, 'log-miss');
  const missQueries = linesOf(lines, 'log-miss').filter((line) => line.msg === 'query');
  t.match(missLine, {
    level: 'info',
    service: 'todo-read',
    method: 'GET',
    url: '/api/v1/todos',
    route: '/api/v1/todos',
    status: 200,
    duration_ms: Number,
    bytes: missBytes,
    cache: 'miss',
    cache_tier: 'none',
    cache_ms: Number,
    db_queries: missQueries.length,
    db_ms: Number,
  });
  t.ok(
    missQueries.length > 0 && (missLine!.db_ms as number) > 0,
    'a miss queries PostgreSQL, and says how long it took',
  );

  t.match(finishedLine(lines, 'log-hit'), {
    route: '/api/v1/todos',
    status: 200,
    bytes: missBytes,
    cache: 'hit',
    cache_tier: 'memory',
    cache_ms: Number,
    db_queries: 0,
    db_ms: 0,
  });
  const notFound = finishedLine(lines, 'log-404')!;
  t.match(notFound, { url: '/api/v1/nothing-here', status: 404, db_queries: 0, bytes: Number });
  t.notOk('cache' in notFound, 'no cache outcome where no cache was consulted');

  const stats = lines.filter((line) => line.msg === 'stats');
  t.equal(stats.length, 1, 'one stats line: the interval is longer than the test, and closing writes it');
  t.same(
    Object.keys(stats[0]!).filter((key) => STATS_FIELDS.includes(key)),
    STATS_FIELDS,
    'every field, in order',
  );
  t.ok(
    STATS_FIELDS.every((key) => typeof stats[0]![key] === 'number'),
    'all numeric',
  );
  t.match(stats[0], {
    level: 'info',
    requests: 3,
    status_5xx: 0,
    shed: 0,
    cache_hit: 1,
    cache_miss: 1,
    cache_stale: 0,
    cache_bypass: 0,
    db_queries: missQueries.length,
  });
  t.ok(
    (stats[0]!.p99_ms as number) >= (stats[0]!.p50_ms as number) && (stats[0]!.p50_ms as number) > 0,
    'percentiles in order',
  );
});

t.test('a shed request has its canonical line, and the stats line counts it', async (t) => {
  const service = await startTodoRead('todo-read-shedding', { SHED_EVENT_LOOP_DELAY_MS: '50' });
  // Blocked across several of the 250 ms samples: a sample soon sees the delay, and from then
  // on requests are shed until one sees a loop that keeps up again.
  busyWait(800);
  const deadline = Date.now() + 5_000;
  let sent = 0;
  let shedId: string | undefined;
  while (shedId === undefined && Date.now() < deadline) {
    const id = `log-shed-${sent++}`;
    const response = await service.get('/api/v1/todos', id);
    await response.arrayBuffer();
    if (response.status === 503) shedId = id;
  }
  if (shedId === undefined) throw new Error('no request was shed within 5 s of blocking the event loop');
  const lines = await service.closeAndReadLines();
  t.match(linesOf(lines, shedId), [
    {
      msg: 'request finished',
      level: 'info',
      route: '/api/v1/todos',
      status: 503,
      shed: 'eventLoopDelay',
      db_queries: 0,
      bytes: Number,
    },
  ]);
  t.match(
    lines.filter((line) => line.msg === 'stats'),
    [{ requests: sent, status_5xx: 1, shed: 1 }],
  );
});
