/**
 * todo-read's request log, in-process over real PostgreSQL and a redis-server of its own,
 * logging to LOG_FILE as under `pnpm start`: one canonical `request finished` line per request
 * with its cache outcome and database figures, no `request started` or `cache` lines at info,
 * and the `stats` line. Closing the app writes the last stats line and flushes the file, so
 * each test reads the file once, after closing.
 */
import { busyWait, type LogLine } from '@taskoverflow/stack/testing';
import t from 'tap';
import { startTestBed } from './in-process.js';

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

const { pool, redisUrl, listen } = await startTestBed(t);
await pool.query("insert into todos (title) values ('first'), ('second')");

/** A todo-read listening on loopback, logging to its own file. */
async function startTodoRead(name: string, env: Record<string, string>) {
  const service = await listen(t, name, env);
  return {
    ...service,
    get: (path: string, requestId: string) =>
      fetch(`${service.base}${path}`, { headers: { 'x-request-id': requestId } }),
  };
}

function linesOf(lines: LogLine[], requestId: string): LogLine[] {
  return lines.filter((line) => line.request_id === requestId);
}

function finishedLine(lines: LogLine[], requestId: string): LogLine | undefined {
  return linesOf(lines, requestId).find((line) => line.msg === 'request finished');
}

t.test('one canonical line per request: miss, memory hit, 404; the stats line counts them', async (t) => {
  const service = await startTodoRead('todo-read-cached', { REDIS_URL: redisUrl });
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
