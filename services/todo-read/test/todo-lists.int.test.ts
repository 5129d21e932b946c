/**
 * With a cache, every filtered list is cut from the cached full list in todo-read's memory
 * (TodoLists): the same bytes as PostgreSQL's filtering (todo-read without a cache), a strong ETag,
 * the SQL's window rule to the microsecond, no query and no Redis entry per query string, and a
 * full list larger than the memory tier still served from memory. In-process apps over real
 * PostgreSQL and redis-servers of this file's own, logging to LOG_FILE.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DATASET_VERSION_KEY, jsonResponse, VERSION_LEASES_KEY } from '@taskoverflow/cache';
import { formatWireTimestamp, type Todo } from '@taskoverflow/domain';
import { startRedisServer } from '@taskoverflow/stack';
import t, { type Test } from 'tap';
import { TodoListIndex } from '../src/todo-lists.js';
import { startTestBed } from './in-process.js';

const { pool, redisUrl, listen } = await startTestBed(t);

/** Titles whose JSON holds quotes, backslashes, braces, brackets and multi-byte characters. */
const TITLES = [
  'plain',
  'a "quoted" title',
  'back\\slash\\',
  'braces {} [] },{"id":1}',
  'ünïcödé 😀 \u2028 line',
  'ends with \\"}',
];

// 200 todos: created in 50 distinct instants (ties broken by id), a third completed, a fifth
// without a deadline, the others due from 30 days ago to 49 days ahead, 6 h (plus some
// microseconds) past a whole day from now, so that no window's edge falls within seconds of one.
for (let i = 0; i < 200; i += 1) {
  const days = ((i * 7) % 80) - 30;
  const deadline =
    i % 5 === 0
      ? 'null'
      : `(now() at time zone 'utc') + interval '${days} days 6 hours ${(i * 37) % 1_000_000} microseconds'`;
  await pool.query(
    `insert into todos (title, description, completed, deadline_at, created_at, updated_at)
     values ($1, $2, $3, ${deadline}, '2021-01-01'::timestamp + make_interval(mins => $4), '2021-06-01 12:00:00.5')`,
    [`${TITLES[i % TITLES.length]} ${i}`, i % 3 === 0 ? null : `description ${i} "{,}"`, i % 3 === 1, i % 50],
  );
}

/** A todo-read listening on loopback, logging to a file of its own; with REDIS_URL, ready once its client is. */
async function startTodoRead(t: Test, name: string, env: Record<string, string>) {
  const service = await listen(t, name, env);
  return {
    ...service,
    async get(path: string, headers: Record<string, string> = {}) {
      const response = await fetch(`${service.base}${path}`, { headers });
      return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
    },
  };
}

const WINDOWS = [
  '-1000000',
  '-31',
  '-30',
  '-29',
  '-5',
  '-1',
  '-0',
  '0',
  '1',
  '2',
  '007',
  '10',
  '48',
  '49',
  '50',
  '51',
  '365',
  '1000000',
];
const QUERIES = [undefined, 'true', 'false'].flatMap((completed) =>
  [undefined, ...WINDOWS].map((window) => {
    const params = new URLSearchParams();
    if (completed) params.set('completed', completed);
    if (window) params.set('window', window);
    return `/api/v1/todos${params.size ? `?${params.toString()}` : ''}`;
  }),
);

t.test('every filtered list has the bytes PostgreSQL filtering gives, and an ETag that names them', async (t) => {
  const sql = await startTodoRead(t, 'uncached', {});
  const cached = await startTodoRead(t, 'cached', { REDIS_URL: redisUrl });
  const bodiesByEtag = new Map<string, Buffer>();
  let nonEmpty = 0;
  for (const path of QUERIES) {
    const expected = await sql.get(path);
    const actual = await cached.get(path);
    t.equal(actual.status, 200, path);
    t.ok(
      actual.body.equals(expected.body),
      `${path}: the same bytes (${actual.body.length} vs ${expected.body.length})`,
    );
    t.equal(actual.headers.get('content-type'), expected.headers.get('content-type'));
    if (expected.body.length > 2) nonEmpty += 1;
    const etag = actual.headers.get('etag')!;
    t.match(etag, /^"[\w:-]+"$/);
    const named = bodiesByEtag.get(etag);
    if (named && !named.equals(actual.body)) t.fail(`${path}: ${etag} also named other bytes`);
    bodiesByEtag.set(etag, actual.body);
    t.equal((await cached.get(path, { 'if-none-match': etag })).status, 304, `${path}: its ETag revalidates`);
  }
  t.ok(nonEmpty > QUERIES.length / 2, `most lists hold todos (${nonEmpty} of ${QUERIES.length})`);
});

t.test('any number of query strings: no query and no Redis entry per query string, the same bytes twice', async (t) => {
  const service = await startTodoRead(t, 'walked', { REDIS_URL: redisUrl });
  const first = await service.get('/api/v1/todos', { 'x-request-id': 'walk-first' });
  t.equal(first.status, 200);
  const bodies = new Map<string, Buffer>();
  for (let round = 0; round < 2; round += 1) {
    for (let window = -40; window <= 400; window += 1) {
      for (const completed of ['', '&completed=true', '&completed=false']) {
        const path = `/api/v1/todos?window=${window}${completed}`;
        const response = await service.get(path, { 'x-request-id': `walk-${round}-${window}-${completed.length}` });
        t.equal(response.status, 200);
        const earlier = bodies.get(path);
        if (earlier && !earlier.equals(response.body)) t.fail(`${path}: another body the second time`);
        bodies.set(path, response.body);
      }
    }
  }
  const keys = await redisKeys(redisUrl);
  t.same(
    keys
      .filter((key) => key !== DATASET_VERSION_KEY && key !== VERSION_LEASES_KEY)
      .map((key) => key.endsWith(':todos:list')),
    [true],
    `Redis holds the full list, not one entry per query (${keys.length} keys)`,
  );
  const lines = await service.closeAndReadLines();
  const walking = lines.filter(
    (line) =>
      line.msg === 'request finished' && line.request_id?.startsWith('walk-') && line.request_id !== 'walk-first',
  );
  t.equal(walking.length, 2 * 441 * 3, 'every walking request logged');
  t.same(
    walking
      .filter((line) => line.db_queries !== 0 || line.cache !== 'hit' || line.cache_tier !== 'memory')
      .map((line) => line.request_id),
    [],
    'each a memory hit without a query',
  );
});

t.test("the window rule is the SQL's to the microsecond: due at or before now + N × 24 h", async (t) => {
  const nows = ['2026-12-06 10:00:00.123', '2028-02-28 23:59:59.999', '1999-12-31 23:59:59'];
  const windows = [-1_000_000, -400, -1, 0, 1, 2, 366, 1_000_000];
  const offsets = ['-1 millisecond', '-1 microsecond', '0', '1 microsecond', '999 microseconds', '1 millisecond'];
  for (const now of nows) {
    const { rows } = await pool.query<{ deadline: string }>(
      `select (($1::timestamp + make_interval(days => w)) + o::interval)::text as deadline
         from unnest($2::int[]) as w, unnest($3::text[]) as o
        where ($1::timestamp + make_interval(days => w)) between '0001-01-02' and '9999-12-30'
       union all select unnest(array['0001-01-01 00:00:00', '9999-12-31 23:59:59.999999'])`,
      [now, windows, offsets],
    );
    const deadlines = rows.map((row) => formatWireTimestamp(row.deadline));
    const todos: Todo[] = deadlines.map((deadline, id) => ({
      id,
      title: 't',
      description: null,
      completed: false,
      deadline_at: deadline,
      created_at: '2021-01-01T00:00:00',
      updated_at: '2021-01-01T00:00:00',
    }));
    const index = new TodoListIndex(jsonResponse(200, todos).body);
    const nowMs = Date.parse(`${now.replace(' ', 'T')}Z`);
    for (const window of windows) {
      const truth = await pool.query<{ due: boolean }>(
        `select d::timestamp <= $1::timestamp + make_interval(days => $2) as due from unnest($3::text[]) with ordinality as d(d, n) order by n`,
        [now, window, rows.map((row) => row.deadline)],
      );
      const expected = truth.rows.flatMap((row, position) => (row.due ? [position] : []));
      const selected = Array.from(index.select({ windowDays: window }, nowMs).positions());
      t.same(selected, expected, `now ${now}, window ${window}`);
    }
  }
});

t.test('a full list larger than the memory tier is still served from memory, filtered lists too', async (t) => {
  // A Redis of its own: a new dataset version, so no entry of the tests above applies.
  const bigRedis = await startRedisServer();
  t.teardown(() => bigRedis.stop());
  await pool.query(
    `insert into todos (title, description, deadline_at)
     select repeat('x', 70) || n, repeat('y', 110), (now() at time zone 'utc') + make_interval(days => n % 20)
       from generate_series(1, 4000) as n`,
  );
  const service = await startTodoRead(t, 'big', { REDIS_URL: bigRedis.url, CACHE_MEMORY_MAX_MB: '1' });
  const paths = ['/api/v1/todos', '/api/v1/todos?window=3', '/api/v1/todos?completed=false'];
  for (const [round, path] of paths.flatMap((path) => [0, 1, 2].map((round) => [round, path] as const))) {
    const response = await service.get(path, { 'x-request-id': `big-${round}-${paths.indexOf(path)}` });
    t.equal(response.status, 200);
    if (path === '/api/v1/todos') t.ok(response.body.length > 1024 * 1024, `the list is ${response.body.length} bytes`);
  }
  const lines = await service.closeAndReadLines();
  const later = lines.filter((line) => line.msg === 'request finished' && /^big-[12]-/.test(line.request_id ?? ''));
  t.equal(later.length, 6);
  t.same(
    later
      .filter((line) => line.cache_tier !== 'memory' || line.db_queries !== 0)
      .map((line) => `${line.request_id}: ${String(line.cache_tier)}`),
    [],
    'after the first read, every read is a memory hit',
  );
});

/** Every key in a Redis (redis-cli comes with redis-server). */
async function redisKeys(url: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('redis-cli', ['-u', url, '--raw', 'KEYS', '*']);
  return stdout
    .split('\n')
    .filter((key) => key !== '')
    .sort();
}
