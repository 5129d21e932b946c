/**
 * `pnpm trace` end to end: the CLI runs as a child process, as `pnpm trace` runs it, over log
 * files written here in the schema of docs/design.md (Observability) — the edge, two todo-read replicas sharing a
 * file, todo-write; interleaved requests, a failed query, lines that are not JSON. Every
 * figure expected below is worked out by hand from the fixture.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runEntry, type CommandRun } from '@taskoverflow/stack/testing';
import t from 'tap';

const traceEntry = fileURLToPath(new URL('../src/cli/trace.ts', import.meta.url));

/** Runs `pnpm trace`'s entry with `args`, as a terminal-less child (so: no color, 120 columns). */
async function trace(args: string[], env: NodeJS.ProcessEnv = {}, cwd = process.cwd()): Promise<CommandRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  // pnpm's INIT_CWD would make the paths in messages relative to wherever tap was started.
  delete childEnv.INIT_CWD;
  delete childEnv.COLUMNS;
  delete childEnv.NO_COLOR;
  Object.assign(childEnv, env);
  return runEntry(traceEntry, args, { env: childEnv, cwd });
}

// ---- The fixture --------------------------------------------------------------------------

/** Most of it happened half an hour ago; the "filler" reads two minutes ago (for --since 10m). */
const BASE_MS = Date.now() - 30 * 60_000;
const FILLER_MS = Date.now() - 2 * 60_000;

const A = 'aaaa1111-1c2d-4e5f-8a9b-0c1d2e3f4a5b'; // GET list via the edge: cache miss, one query
const B = 'aaaa2222-6c7d-4e8f-9a0b-1c2d3e4f5a6b'; // POST via the edge: the query fails, 500
const C = 'c3c3c3c3-0000-4000-8000-00000000000c'; // GET one todo: memory cache hit, no query
const D = 'd4d4d4d4-0000-4000-8000-00000000000d'; // GET one todo: a replica refused first; same-ms lines
const E = 'e5e5e5e5-0000-4000-8000-00000000000e'; // GET list straight to a replica (no edge), 2 queries
const W = '77777777-0000-4000-8000-000000000077'; // DELETE via the edge
const H = '4ea17400-0000-4000-8000-000000000004'; // a failing health check: 500 ms, must not count
const fillerId = (n: number): string => `f${String(n).padStart(7, '0')}-0000-4000-8000-000000000000`;

const LIST_SQL = 'select * from "todos" where "completed" = $1 order by "created_at" desc, "id" desc';
const LIST_ALL_SQL = 'select * from "todos" order by "created_at" desc, "id" desc';
const COUNT_SQL = 'select count(*) as "count" from "todos"';
const BY_ID_SQL = 'select * from "todos" where "id" = $1';
const INSERT_SQL =
  'insert into "todos" ("title", "description", "completed", "deadline_at", "created_at", "updated_at") values ($1, $2, $3, $4, $5, $6) returning *';
const DELETE_SQL = 'delete from "todos" where "id" = $1 returning *';
const DUPLICATE = {
  type: 'DatabaseError',
  message: 'duplicate key value violates unique constraint "todos_pkey"',
  stack: 'DatabaseError: duplicate key…',
};

type Fields = Record<string, unknown>;
interface Line {
  atMs: number;
  fields: Fields;
}

const files: Record<'edge' | 'todo-read' | 'todo-write', Line[]> = { edge: [], 'todo-read': [], 'todo-write': [] };

/**
 * Logs lines of one request on one replica, in pino's field order. A service's `request
 * finished` is its canonical line, with the request's cache and database figures; `request
 * started` is at debug.
 */
function requestOn(
  service: keyof typeof files,
  hostname: string,
  requestId: string,
  method: string,
  url: string,
  startMs: number,
) {
  const log = (offsetMs: number, msg: string, fields: Fields = {}, level = 'info'): void => {
    const atMs = startMs + offsetMs;
    const time = new Date(atMs).toISOString();
    files[service].push({
      atMs,
      fields: { level, time, service, hostname, request_id: requestId, method, url, ...fields, msg },
    });
  };
  return {
    startedAtDebug: (at: number) => log(at, 'request started', {}, 'debug'),
    finished: (at: number, status: number, duration_ms: number, extra: Fields = {}, level = 'info') =>
      log(at, 'request finished', { status, duration_ms, ...extra }, level),
    query: (at: number, sql: string, duration_ms: number, rows: number) => log(at, 'query', { sql, duration_ms, rows }),
    queryFailed: (at: number, sql: string, duration_ms: number, err: Fields) =>
      log(at, 'query failed', { sql, duration_ms, err }, 'warn'),
    other: log,
  };
}

/** The fields a service's canonical line adds to status and duration. */
function canonical(
  route: string,
  bytes: number,
  db: { queries: number; ms: number },
  cache?: { outcome: string; tier: string; ms: number },
): Fields {
  return {
    route,
    bytes,
    ...(cache && { cache: cache.outcome, cache_tier: cache.tier, cache_ms: cache.ms }),
    db_queries: db.queries,
    db_ms: db.ms,
  };
}

/** The cache fields of a read that missed (`tier` none) or hit the in-process tier, taking `ms`. */
const missed = (ms: number) => ({ outcome: 'miss', tier: 'none', ms });
const memoryHit = (ms: number) => ({ outcome: 'hit', tier: 'memory', ms });

/** One request through the edge to a service instance: the edge's lines and the instance's, with the same id. */
function throughEdge(
  service: 'todo-read' | 'todo-write',
  instance: string,
  requestId: string,
  method: string,
  url: string,
) {
  return {
    edge: requestOn('edge', 'edge', requestId, method, url, BASE_MS),
    instance: requestOn(service, instance, requestId, method, url, BASE_MS),
  };
}

{
  const { edge, instance: read } = throughEdge('todo-read', 'todo-read-1', A, 'GET', '/api/v1/todos?completed=false');
  read.query(10, LIST_SQL, 6.2, 2);
  read.finished(32, 200, 30, canonical('/api/v1/todos', 512, { queries: 1, ms: 6.2 }, missed(0.8)));
  edge.finished(33, 200, 32.7, { bytes: 512, upstream: 'http://127.0.0.1:3101' });
}
{
  const { edge, instance: write } = throughEdge('todo-write', 'todo-write-1', B, 'POST', '/api/v1/todos');
  write.queryFailed(27, INSERT_SQL, 20.5, DUPLICATE);
  write.finished(31, 500, 25, { ...canonical('/api/v1/todos', 35, { queries: 1, ms: 20.5 }), err: DUPLICATE }, 'error');
  edge.finished(33, 500, 28, { bytes: 35, upstream: 'http://127.0.0.1:3201' });
}
{
  const { edge, instance: read } = throughEdge('todo-read', 'todo-read-2', C, 'GET', '/api/v1/todos/42');
  read.finished(10, 200, 1.2, canonical('/api/v1/todos/:id', 230, { queries: 0, ms: 0 }, memoryHit(0.05)));
  edge.finished(11, 200, 2.4, { bytes: 230, upstream: 'http://127.0.0.1:3102' });
}
{
  const { edge, instance: read } = throughEdge('todo-read', 'todo-read-1', D, 'GET', '/api/v1/todos/7');
  edge.other(
    40,
    'todo-read replica unreachable, trying the next one',
    { replica: 'http://127.0.0.1:3102', code: 'ECONNREFUSED' },
    'warn',
  );
  read.query(42, BY_ID_SQL, 0.9, 1);
  read.finished(43, 200, 3, canonical('/api/v1/todos/:id', 230, { queries: 1, ms: 0.9 }, missed(0.3)));
  // The same millisecond as the service's finish, and written to a file read before its.
  edge.finished(43, 200, 3.4, { bytes: 230, upstream: 'http://127.0.0.1:3101' });
}
{
  // Straight to a replica without a cache, which logs at debug.
  const read = requestOn('todo-read', 'todo-read-2', E, 'GET', '/api/v1/todos', BASE_MS);
  read.startedAtDebug(45);
  read.query(50, LIST_ALL_SQL, 10, 3);
  read.query(66, COUNT_SQL, 15.5, 1);
  read.finished(85, 200, 40, canonical('/api/v1/todos', 768, { queries: 2, ms: 25.5 }));
}
{
  const { edge, instance: write } = throughEdge('todo-write', 'todo-write-1', W, 'DELETE', '/api/v1/todos/5');
  write.query(55, DELETE_SQL, 2.5, 1);
  write.finished(59, 200, 8, canonical('/api/v1/todos/:id', 230, { queries: 1, ms: 2.5 }));
  edge.finished(60, 200, 9.1, { bytes: 230, upstream: 'http://127.0.0.1:3201' });
}
// Only failing health checks are logged.
requestOn('todo-read', 'todo-read-2', H, 'GET', '/api/v1/health', BASE_MS).finished(70, 503, 500);
// 18 reads of one todo on alternate replicas, 4 to 21 ms; the slowest one a 503.
for (let n = 1; n <= 18; n++) {
  const read = requestOn(
    'todo-read',
    `todo-read-${1 + (n % 2)}`,
    fillerId(n),
    'GET',
    `/api/v1/todos/${100 + n}`,
    FILLER_MS + n * 30,
  );
  read.query(1, BY_ID_SQL, 1, 1);
  read.finished(
    n + 3,
    n === 18 ? 503 : 200,
    n + 3,
    canonical('/api/v1/todos/:id', 230, { queries: 1, ms: 1 }, missed(0)),
  );
}

/** Each file's lines in time order, as the processes appended them. */
function fileText(lines: Line[], extra: { before?: string[]; after?: string[] } = {}): string {
  const json = [...lines].sort((a, b) => a.atMs - b.atMs).map((line) => JSON.stringify(line.fields));
  return [...(extra.before ?? []), ...json, ...(extra.after ?? [])].join('\n') + '\n';
}

const startup = JSON.stringify({
  level: 'info',
  time: new Date(BASE_MS - 5000).toISOString(),
  service: 'todo-read',
  hostname: 'todo-read-1',
  msg: 'Server listening at http://127.0.0.1:3101',
});
const NOT_JSON = ['node:internal/modules/run_main:123  triggerUncaughtException(', '{"level":"info","time":"2026-11-'];
const fixture = {
  'edge.log': fileText(files.edge),
  'todo-read.log': fileText(files['todo-read'], { before: [startup, NOT_JSON[0]!, ''], after: [NOT_JSON[1]!] }),
  'todo-write.log': fileText(files['todo-write']),
  'notes.txt': 'not a log file: never read\n',
};
/** Non-blank lines in the .log files. */
const LINES = files.edge.length + files['todo-read'].length + files['todo-write'].length + 1 + NOT_JSON.length;

const logs = t.testdir(fixture);
/** The last line on stderr. */
const SUMMARY = new RegExp(`(^|\\n)read 3 files in .+/: ${LINES} lines, 2 unparseable \\(skipped\\)\\n$`);

// ---- One request ----------------------------------------------------------------------------

t.test('a request id: the timeline across edge and replicas, in time order, and where the time went', async (t) => {
  const { code, stdout, stderr } = await trace([A, '--logs', logs]);
  t.equal(code, 0);
  t.match(stderr, SUMMARY, 'the summary of what was read goes to stderr');
  t.notOk(stdout.includes('\x1b['), 'no color when stdout is not a terminal');
  const lines = stdout.split('\n');
  t.equal(
    lines[0],
    'GET /api/v1/todos?completed=false  →  200 in 32.7 ms at the edge',
    'header: the status and total the client got',
  );
  // Offsets count from when the edge got the request: its finished line's time, 32.7 ms back.
  t.equal(lines[1], `${A} · ${new Date(BASE_MS).toISOString()} · 3 log lines`);
  t.same(
    lines.slice(3, 7),
    [
      `+10 ms  todo-read  todo-read-1  query 6.2 ms, 2 rows: ${LIST_SQL}`.slice(0, 119) + '…',
      '+32 ms  todo-read  todo-read-1  finished 200 in 30.0 ms',
      '                                ↳ cache miss (none) 0.8 ms',
      '+33 ms  edge       edge         finished 200 in 32.7 ms via http://127.0.0.1:3101',
    ],
    'the cache outcome, tier and time come from the canonical line',
  );
  t.same(lines.slice(8, 14), [
    'breakdown',
    '  total          32.7 ms        as the edge saw it',
    '  db              6.2 ms   19%  1 query',
    '  cache           0.8 ms  2.4%  1 lookup',
    '  other          23.0 ms   70%  service total − db − cache',
    '  edge overhead   2.7 ms  8.3%  edge total − service total',
  ]);
  t.notOk(stdout.includes(B), 'no line of the other request with the same id prefix');
});

t.test('the SQL is cut to the terminal width', async (t) => {
  const { stdout } = await trace([A, '--logs', logs], { COLUMNS: '80' });
  const query = stdout.split('\n').find((line) => line.includes('query 6.2 ms'));
  t.equal(query, `+10 ms  todo-read  todo-read-1  query 6.2 ms, 2 rows: ${LIST_SQL}`.slice(0, 79) + '…');
  t.ok(
    stdout.split('\n').every((line) => line.length <= 80),
    'no line is wider than 80 columns',
  );
  t.match(
    stdout,
    '\n+33 ms  edge       edge         finished 200 in 32.7 ms via http://127.0.0.1:31…\n',
    'the upstream is cut too',
  );
});

t.test('lines of one millisecond keep their nesting: the edge finishes after the service it waited for', async (t) => {
  const { code, stdout } = await trace([D, '--logs', logs]);
  t.equal(code, 0);
  const events = stdout.split('\n').slice(3, 8);
  // The edge got the request 3.4 ms before its finished line at +43: at 39.6, so +0 is 39.
  t.same(
    events.map((line) => line.replace(/\s+/g, ' ').trim()),
    [
      '+1 ms edge edge warn: todo-read replica unreachable, trying the next one replica=http://127.0.0.1:3102 code=ECONNREFUSED',
      `+3 ms todo-read todo-read-1 query 0.9 ms, 1 row: ${BY_ID_SQL}`,
      '+4 ms todo-read todo-read-1 finished 200 in 3.0 ms',
      '↳ cache miss (none) 0.3 ms',
      '+4 ms edge edge finished 200 in 3.4 ms via http://127.0.0.1:3101',
    ],
  );
});

t.test('a failed query and an error: shown with their messages, counted as db time', async (t) => {
  const { code, stdout } = await trace([B, '--logs', logs]);
  t.equal(code, 0);
  t.match(stdout, /^POST \/api\/v1\/todos {2}→ {2}500 in 28\.0 ms at the edge\n/);
  // Offsets count from the request's first line, the edge's 5 ms into the fixture.
  t.match(
    stdout,
    /\n\+22 ms {2}todo-write {2}todo-write-1 {2}query failed after 20\.5 ms: insert into "todos" \("title", /,
  );
  t.match(
    stdout,
    /\n {34}↳ duplicate key value violates unique constraint "todos_pkey"\n\+26 ms {2}todo-write {2}todo-write-1 {2}finished 500 in 25\.0 ms\n {34}↳ duplicate key/,
  );
  t.match(stdout, /\n {2}db {13}20\.5 ms {2}73% {2}1 query\n/);
  t.match(stdout, /\n {2}other {11}4\.5 ms {2}16% {2}service total − db − cache\n/);
  t.match(stdout, /\n {2}edge overhead {3}3\.0 ms {2}11% {2}edge total − service total\n/);
});

t.test('a request that bypassed the edge: the total is the service’s, no edge overhead', async (t) => {
  const { code, stdout } = await trace([E, '--logs', logs, '--json']);
  t.equal(code, 0);
  const result = JSON.parse(stdout);
  t.same(result.breakdown, {
    total_ms: 40,
    edge_ms: null,
    service_ms: 40,
    db_ms: 25.5,
    cache_ms: 0,
    edge_overhead_ms: null,
    other_ms: 14.5,
    queries: 2,
    cache_lookups: 0,
    service_requests: 1,
  });
  const text = await trace([E, '--logs', logs]);
  t.match(text.stdout, /^GET \/api\/v1\/todos {2}→ {2}200 in 40\.0 ms\n/, 'no "at the edge"');
  t.match(text.stdout, /\n {2}edge overhead {8}— {7}no edge line\n/);
});

t.test('--json: the timeline as data, each event its log line as written', async (t) => {
  const { code, stdout, stderr } = await trace([A, '--logs', logs, '--json']);
  t.equal(code, 0);
  t.equal(stderr, '', 'the summary is in the JSON instead');
  const result = JSON.parse(stdout);
  t.match(result, { request_id: A, method: 'GET', url: '/api/v1/todos?completed=false', status: 200, total_ms: 32.7 });
  t.equal(result.started_at, new Date(BASE_MS).toISOString());
  t.same(result.breakdown, {
    total_ms: 32.7,
    edge_ms: 32.7,
    service_ms: 30,
    db_ms: 6.2,
    cache_ms: 0.8,
    edge_overhead_ms: 2.7,
    other_ms: 23,
    queries: 1,
    cache_lookups: 1,
    service_requests: 1,
  });
  t.same(
    result.events.map((event: { offset_ms: number; kind: string; hostname: string }) => [
      event.offset_ms,
      event.kind,
      event.hostname,
    ]),
    [
      [10, 'query', 'todo-read-1'],
      [32, 'finished', 'todo-read-1'],
      [33, 'finished', 'edge'],
    ],
  );
  t.equal(result.events[0].sql, LIST_SQL, 'the SQL in full');
  t.match(
    result.events[1],
    { cache: 'miss', cache_tier: 'none', cache_ms: 0.8, db_queries: 1, db_ms: 6.2 },
    'the canonical line as written',
  );
  t.same(result.read, {
    files: ['edge.log', 'todo-read.log', 'todo-write.log'].map((name) => join(logs, name)),
    lines: LINES,
    unparseable: 2,
  });
});

t.test('a prefix of the id will do, when it is unique', async (t) => {
  const { code, stdout } = await trace(['aaaa1', '--logs', logs, '--json']);
  t.equal(code, 0);
  t.equal(JSON.parse(stdout).request_id, A);
});

t.test('an ambiguous prefix lists the requests it matches and exits 1', async (t) => {
  const { code, stdout, stderr } = await trace(['aaaa', '--logs', logs]);
  t.equal(code, 1);
  t.equal(stdout, '');
  const isoA = new Date(BASE_MS).toISOString();
  const isoB = new Date(BASE_MS + 5).toISOString();
  t.match(stderr, '✗ pnpm trace: "aaaa" is the start of 2 request ids: give more of the one you mean\n');
  t.match(stderr, `\n  ${A}  ${isoA}  GET /api/v1/todos?completed=false\n  ${B}  ${isoB}  POST /api/v1/todos\n`);

  const json = await trace(['aaaa', '--logs', logs, '--json']);
  t.equal(json.code, 1);
  t.same(
    JSON.parse(json.stdout).candidates.map((candidate: { request_id: string }) => candidate.request_id),
    [A, B],
  );
});

t.test('an unknown id says so, suggests --slowest and exits 1', async (t) => {
  const { code, stdout, stderr } = await trace(['0123456789', '--logs', logs]);
  t.equal(code, 1);
  t.equal(stdout, '');
  t.match(
    stderr,
    /^✗ pnpm trace: no request id starts with "0123456789" in .+: list requests to follow with `pnpm trace --slowest`\n/,
  );
  t.match(stderr, SUMMARY);
});

// ---- The slowest requests -------------------------------------------------------------------

interface RequestRow {
  request_id: string;
  status: number;
  total_ms: number;
  db_ms: number;
  cache_ms: number;
  other_ms: number;
  queries: number;
}

t.test('--slowest N: the slowest requests by the service’s duration, health checks left out', async (t) => {
  const { code, stdout } = await trace(['--slowest', '4', '--logs', logs, '--json']);
  t.equal(code, 0);
  const { requests } = JSON.parse(stdout) as { requests: RequestRow[] };
  t.same(
    requests.map((row) => [
      row.request_id,
      row.status,
      row.total_ms,
      row.db_ms,
      row.cache_ms,
      row.other_ms,
      row.queries,
    ]),
    [
      [E, 200, 40, 25.5, 0, 14.5, 2],
      [A, 200, 30, 6.2, 0.8, 23, 1],
      [B, 500, 25, 20.5, 0, 4.5, 1],
      [fillerId(18), 503, 21, 1, 0, 20, 1],
    ],
  );
  t.match(requests[0], {
    method: 'GET',
    url: '/api/v1/todos',
    endpoint: 'GET /api/v1/todos',
    service: 'todo-read',
    hostname: 'todo-read-2',
  });
  t.equal((requests[0] as unknown as { finished_at: string }).finished_at, new Date(BASE_MS + 85).toISOString());
});

t.test('--slowest as a table, 10 rows by default, with a hint to trace one', async (t) => {
  const { code, stdout, stderr } = await trace(['--slowest', '--logs', logs]);
  t.equal(code, 0);
  t.match(stderr, SUMMARY);
  const lines = stdout.trimEnd().split('\n');
  // Cells by the two spaces between columns: the widths depend on the time column, which
  // carries the date when the fixture's half hour spans midnight (UTC).
  const cells = (line: string | undefined): string[] => (line ?? '').trim().split(/ {2,}/);
  t.same(cells(lines[0]), [
    'request',
    'endpoint',
    'status',
    'total ms',
    'db ms',
    'cache ms',
    'other ms',
    'queries',
    'finished (UTC)',
  ]);
  t.equal(lines.length, 1 + 10 + 2, 'header, 10 rows, blank line, hint');
  const finished = /^(\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d\.\d{3}$/;
  t.same(cells(lines[1]).slice(0, -1), [
    'e5e5e5e5-0000',
    'GET /api/v1/todos',
    '200',
    '40.0',
    '25.5',
    '0.0',
    '14.5',
    '2',
  ]);
  t.match(cells(lines[1]).at(-1), finished);
  t.same(cells(lines[3]).slice(0, -1), [
    'aaaa2222-6c7d',
    'POST /api/v1/todos',
    '500',
    '25.0',
    '20.5',
    '0.0',
    '4.5',
    '1',
  ]);
  const statusEnd = lines[0]!.indexOf('status') + 'status'.length;
  t.ok(
    lines.slice(1, 11).every((line) => line[statusEnd - 1] !== ' ' && line[statusEnd] === ' '),
    'numbers right-aligned under their headers',
  );
  t.same(
    lines.slice(1, 11).map((line) => Number(line.split(/\s+/)[4])),
    [40, 30, 25, 21, 20, 19, 18, 17, 16, 15],
    'slowest first',
  );
  t.equal(lines[12], 'where the time of one went, line by line: pnpm trace e5e5e5e5-0000');
  t.ok(
    lines.every((line) => line.length <= 120),
    'fits 120 columns',
  );
});

t.test('--slowest filters: --service and --since', async (t) => {
  const ids = async (args: string[]): Promise<string[]> => {
    const { code, stdout } = await trace(['--logs', logs, '--json', ...args]);
    t.equal(code, 0, args.join(' '));
    return (JSON.parse(stdout) as { requests: RequestRow[] }).requests.map((row) => row.request_id);
  };
  t.same(await ids(['--slowest', '--service', 'todo-write']), [B, W]);
  t.same(
    await ids(['--slowest', '2', '--since', '10m']),
    [fillerId(18), fillerId(17)],
    'relative: the filler of 2 minutes ago',
  );
  // E, the last of the early requests, finished at +85 ms.
  t.same(await ids(['--since', new Date(BASE_MS + 86).toISOString(), '--slowest', '3']), [
    fillerId(18),
    fillerId(17),
    fillerId(16),
  ]);
  t.same(
    await ids(['--since', new Date(BASE_MS + 85).toISOString(), '--slowest', '1']),
    [E],
    'the time given is included',
  );
  // B finished at +31 ms, W at +59 ms.
  t.same(
    await ids(['--since', new Date(BASE_MS + 32).toISOString(), '--slowest', '3', '--service', 'todo-write']),
    [W],
    'both',
  );
});

// ---- Endpoints ------------------------------------------------------------------------------

t.test('--endpoints: nearest-rank percentiles and 5xx share per endpoint, slowest p95 first', async (t) => {
  const { code, stdout } = await trace(['--endpoints', '--logs', logs, '--json']);
  t.equal(code, 0);
  const { endpoints } = JSON.parse(stdout);
  // GET /api/v1/todos/:id: C 1.2, D 3.0 and the filler's 4…21 — 20 durations. Nearest rank:
  // p50 = 10th = 11, p95 = 19th = 20, p99 = 20th = 21; one 503 in 20.
  t.same(endpoints, [
    {
      endpoint: 'GET /api/v1/todos',
      count: 2,
      p50_ms: 30,
      p95_ms: 40,
      p99_ms: 40,
      max_ms: 40,
      server_errors: 0,
      server_error_share: 0,
    },
    {
      endpoint: 'POST /api/v1/todos',
      count: 1,
      p50_ms: 25,
      p95_ms: 25,
      p99_ms: 25,
      max_ms: 25,
      server_errors: 1,
      server_error_share: 1,
    },
    {
      endpoint: 'GET /api/v1/todos/:id',
      count: 20,
      p50_ms: 11,
      p95_ms: 20,
      p99_ms: 21,
      max_ms: 21,
      server_errors: 1,
      server_error_share: 0.05,
    },
    {
      endpoint: 'DELETE /api/v1/todos/:id',
      count: 1,
      p50_ms: 8,
      p95_ms: 8,
      p99_ms: 8,
      max_ms: 8,
      server_errors: 0,
      server_error_share: 0,
    },
  ]);

  const readsOnly = await trace(['--endpoints', '--logs', logs, '--json', '--service', 'todo-read', '--since', '10m']);
  t.same(
    JSON.parse(readsOnly.stdout).endpoints.map((row: { endpoint: string; count: number }) => [row.endpoint, row.count]),
    [['GET /api/v1/todos/:id', 18]],
  );
});

t.test('--endpoints as a table', async (t) => {
  const { code, stdout } = await trace(['--endpoints', '--logs', logs]);
  t.equal(code, 0);
  t.same(stdout.trimEnd().split('\n'), [
    'endpoint                  count  p50 ms  p95 ms  p99 ms  max ms   5xx',
    'GET /api/v1/todos             2    30.0    40.0    40.0    40.0    0%',
    'POST /api/v1/todos            1    25.0    25.0    25.0    25.0  100%',
    'GET /api/v1/todos/:id        20    11.0    20.0    21.0    21.0  5.0%',
    'DELETE /api/v1/todos/:id      1     8.0     8.0     8.0     8.0    0%',
    '',
    'percentiles by nearest rank; sorted by p95, slowest first',
  ]);
});

// ---- Usage ----------------------------------------------------------------------------------

t.test('--help explains the modes with examples and exits 0', async (t) => {
  const { code, stdout } = await trace(['--help']);
  t.equal(code, 0);
  t.match(stdout, /^Usage: pnpm trace <request-id> \| --slowest \[N\] \| --endpoints \| --report DIR {2}\[options\]\n/);
  for (const option of [
    '--report DIR',
    '--since WHEN',
    '--service NAME',
    '--logs DIR',
    '--json',
    'Examples:',
    'Exit status:',
  ])
    t.match(stdout, option);
});

t.test('bad usage exits 2 and names the fix', async (t) => {
  const cases: Array<[args: string[], message: RegExp]> = [
    [[], /say what to show: a request id, --slowest \[N\], --endpoints or --report DIR/],
    [['--slowest', '0'], /--slowest takes a whole number of requests, 1 or more \(got "0"\)/],
    [['--slowest', '--endpoints'], /choose one of: a request id, --slowest, --endpoints, --report/],
    [
      ['--report', '.'],
      /--report DIR reads the run in DIR and writes bottlenecks.json beside it: leave out --logs and --json/,
    ],
    [[A, B], /one request id at a time/],
    [['--slowest', '--service', 'edge'], /--service is one of todo-read, todo-write \(got "edge"\)/],
    [
      ['--endpoints', '--since', 'yesterday'],
      /--since takes a time back from now \(90s, 10m, 1h, 2d\) or an ISO 8601 time/,
    ],
    [[A, '--since', '1h'], /--since and --service filter --slowest and --endpoints/],
    [['--slowest', '--bogus'], /Unknown option '--bogus'/],
  ];
  for (const [args, message] of cases) {
    const { code, stdout, stderr } = await trace([...args, '--logs', logs]);
    t.equal(code, 2, `${args.join(' ')}: exit 2`);
    t.equal(stdout, '');
    t.match(stderr, message);
    t.match(stderr, /\(pnpm trace --help lists the modes and options\)\n$/);
  }
});

t.test('no log files: says how to get some, exits 1', async (t) => {
  const empty = t.testdir({ 'notes.txt': 'no logs here\n' });
  // Shown as the user would type it: relative to where they are when it is below, else absolute.
  const cases: Array<[args: string[], cwd: string, shown: string]> = [
    [['--logs', 'missing'], empty, 'missing/'],
    [['--logs', '.'], empty, './'],
    [['--logs', empty], join(empty, 'missing'), `${empty}/`],
  ];
  for (const [args, cwd, shown] of cases) {
    await mkdir(cwd, { recursive: true });
    const { code, stdout, stderr } = await trace(['--slowest', ...args], {}, cwd);
    t.equal(code, 1);
    t.equal(stdout, '');
    t.equal(stderr, `✗ pnpm trace: no log files in ${shown}: run \`pnpm start\` first, or pass --logs DIR\n`);
  }
});

t.test('logs that are all pretty-printed: the summary says why nothing was found', async (t) => {
  const pretty = t.testdir({
    'todo-read.log': '12:00:01.234 INFO  request started\n12:00:01.240 INFO  request finished status=200\n',
  });
  const { code, stdout, stderr } = await trace(['--endpoints', '--logs', pretty]);
  t.equal(code, 0);
  t.match(stdout, /^no finished requests found/);
  t.match(
    stderr,
    /: 2 lines, 2 unparseable \(skipped\)\nnone of the lines is a JSON log line: were the services run with LOG_FORMAT=pretty\?/,
  );
});
