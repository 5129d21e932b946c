/**
 * The pieces of `pnpm trace` whose edge cases are easier to reach directly than through log
 * files: line parsing, endpoints, --since, percentiles, prefix lookup, the top-N, tables, color.
 */
import t from 'tap';
import { percentile } from '../src/endpoint-stats.js';
import { endpointOf, isHealthCheck } from '../src/endpoint.js';
import { errorMessage, parseLogLine, type LogEntry } from '../src/log-entry.js';
import { parseSince } from '../src/request-filter.js';
import { RequestLookup } from '../src/request-lookup.js';
import { SlowestRequests } from '../src/slowest.js';
import { buildTimeline } from '../src/timeline.js';
import { shortId } from '../src/render/requests.js';
import { styleFor } from '../src/render/style.js';
import { renderTable } from '../src/render/table.js';
import { truncate } from '../src/render/text.js';

const TIME = '2026-11-28T12:35:23.622Z';

function entry(fields: Record<string, unknown>): LogEntry {
  const parsed = parseLogLine(
    JSON.stringify({ level: 'info', time: TIME, service: 'todo-read', hostname: 'vm', ...fields }),
  );
  if (!parsed) throw new Error('fixture line did not parse');
  return parsed;
}

t.test('parseLogLine: typed fields, or nothing for a line that is no log entry', async (t) => {
  const line =
    '{"level":"info","time":"2026-11-28T12:35:23.640Z","service":"todo-read","hostname":"vm","request_id":"114892ee-a070-4799-aa7d-26b92e291079","method":"GET","url":"/api/v1/todos?completed=false","status":200,"duration_ms":17.196,"msg":"request finished"}';
  t.match(parseLogLine(line), {
    timeMs: Date.parse('2026-11-28T12:35:23.640Z'),
    level: 'info',
    service: 'todo-read',
    hostname: 'vm',
    msg: 'request finished',
    requestId: '114892ee-a070-4799-aa7d-26b92e291079',
    method: 'GET',
    url: '/api/v1/todos?completed=false',
    status: 200,
    durationMs: 17.196,
  });
  t.equal(
    parseLogLine('{"level":50,"time":1795867200000,"msg":"x"}')?.level,
    'error',
    "pino's numeric levels and epoch times",
  );
  t.equal(
    parseLogLine('{"time":1795867200000,"status":"200","duration_ms":"3"}')?.status,
    undefined,
    'wrongly typed fields are left out',
  );
  for (const bad of [
    'Server listening',
    '{"level":"info","time":"2026-',
    '[1,2]',
    'null',
    '{"msg":"no time"}',
    '{"time":"not a time"}',
  ]) {
    t.equal(parseLogLine(bad), undefined, bad);
  }
});

t.test('errorMessage: the message of a serialised error, or the error as logged', async (t) => {
  t.equal(errorMessage(entry({ err: { type: 'Error', message: 'boom', stack: '…' } })), 'boom');
  t.equal(errorMessage(entry({ err: { type: 'AbortError', message: '' } })), 'AbortError');
  t.equal(errorMessage(entry({ err: 'plain text' })), 'plain text');
  t.equal(errorMessage(entry({})), undefined);
});

t.test('endpointOf: numeric segments as :id, no query string', async (t) => {
  t.equal(endpointOf('GET', '/api/v1/todos/42?x=1'), 'GET /api/v1/todos/:id');
  t.equal(endpointOf('PUT', '/api/v1/todos/7'), 'PUT /api/v1/todos/:id');
  t.equal(endpointOf('GET', '/api/v1/todos?completed=true&window=3'), 'GET /api/v1/todos');
  t.equal(endpointOf('GET', '/api/v1/todos/abc'), 'GET /api/v1/todos/abc', 'only whole numbers');
  t.equal(endpointOf('GET', '/'), 'GET /');
  t.ok(isHealthCheck('/api/v1/health?probe=1'));
  t.notOk(isHealthCheck('/api/v1/healthz'));
});

t.test('parseSince: a time back from now, or an ISO time (UTC without an offset)', async (t) => {
  const now = Date.parse('2026-11-28T12:00:00Z');
  t.equal(parseSince('90s', now), now - 90_000);
  t.equal(parseSince('10m', now), now - 600_000);
  t.equal(parseSince('1h', now), now - 3_600_000);
  t.equal(parseSince('2d', now), now - 172_800_000);
  t.equal(parseSince('2026-11-28T11:30', now), Date.parse('2026-11-28T11:30:00Z'), 'naive: UTC, like the logs');
  t.equal(parseSince('2026-11-28 11:30:15.5', now), Date.parse('2026-11-28T11:30:15.500Z'));
  t.equal(parseSince('2026-11-28T11:30+01:00', now), Date.parse('2026-11-28T10:30:00Z'));
  t.equal(parseSince('2026-11-28', now), Date.parse('2026-11-28T00:00:00Z'));
  for (const bad of ['', '10', '10 m', '-5m', 'yesterday', '2026-13-45', '1700000000'])
    t.equal(parseSince(bad, now), undefined, bad);
});

t.test('percentile: nearest rank, always a measured value', async (t) => {
  const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  t.equal(percentile(ten, 50), 5, 'rank ceil(5) = 5');
  t.equal(percentile(ten, 95), 10, 'rank ceil(9.5) = 10');
  t.equal(percentile(ten, 90), 9, 'rank ceil(9) = 9');
  t.equal(percentile([7], 99), 7);
  const hundred = Array.from({ length: 100 }, (_, index) => index + 1);
  t.equal(percentile(hundred, 99), 99);
  t.equal(percentile(hundred, 50), 50);
});

t.test('RequestLookup: an exact id wins over longer ids it is the start of', async (t) => {
  const lookup = new RequestLookup('abc');
  lookup.add(entry({ request_id: 'abcd', msg: 'request finished' }));
  lookup.add(entry({ request_id: 'abc', msg: 'request finished' }));
  lookup.add(entry({ request_id: 'xabc', msg: 'request finished' }));
  const result = lookup.result();
  t.equal(result.kind, 'found');
  t.same(result.kind === 'found' && result.entries.map((line) => line.requestId), ['abc']);
});

t.test('RequestLookup: a short prefix over many requests keeps at most 20 candidates, and no lines', async (t) => {
  const lookup = new RequestLookup('a');
  for (let n = 0; n < 25; n++) lookup.add(entry({ request_id: `a${n}`, msg: 'query', url: `/api/v1/todos/${n}` }));
  const result = lookup.result();
  t.equal(result.kind, 'ambiguous');
  if (result.kind !== 'ambiguous') return;
  t.equal(result.candidates.length, 20);
  t.equal(result.more, true);
  t.equal(result.candidates[0]?.url, '/api/v1/todos/0');
});

t.test('SlowestRequests: keeps the N slowest, slowest first; equal durations in log order', async (t) => {
  const slowest = new SlowestRequests(3, {});
  const durations = [5, 9, 1, 9, 7, 3, 8];
  durations.forEach((duration_ms, index) => {
    slowest.add(
      entry({ request_id: `r${index}`, method: 'GET', url: '/api/v1/todos', msg: 'query', duration_ms: 0.5 }),
    );
    const finished = { msg: 'request finished', status: 200, duration_ms, db_queries: 1, db_ms: 0.5 };
    slowest.add(entry({ request_id: `r${index}`, method: 'GET', url: '/api/v1/todos', ...finished }));
  });
  t.same(
    slowest.result().map((request) => [request.requestId, request.totalMs, request.dbMs, request.queries]),
    [
      ['r1', 9, 0.5, 1],
      ['r3', 9, 0.5, 1],
      ['r6', 8, 0.5, 1],
    ],
  );
});

t.test(
  "SlowestRequests: the figures of each request are its canonical line's, replicas sharing an id apart",
  async (t) => {
    const slowest = new SlowestRequests(5, {});
    const finished = (hostname: string, duration_ms: number, db_ms: number) =>
      slowest.add(
        entry({
          hostname,
          request_id: 'same',
          method: 'GET',
          url: '/api/v1/todos',
          msg: 'request finished',
          status: 200,
          duration_ms,
          db_queries: 1,
          db_ms,
          cache: 'miss',
          cache_tier: 'none',
          cache_ms: 0.25,
        }),
      );
    finished('todo-read-1', 10, 4);
    finished('todo-read-2', 20, 6);
    t.same(
      slowest
        .result()
        .map((request) => [request.hostname, request.dbMs, request.cacheMs, request.otherMs, request.queries]),
      [
        ['todo-read-2', 6, 0.25, 13.75, 1],
        ['todo-read-1', 4, 0.25, 5.75, 1],
      ],
    );
  },
);

t.test('buildTimeline: a client that reused an id gets the figures added up, and is told', async (t) => {
  const lines = [1, 2].flatMap((n) => [
    entry({ request_id: 'reused', msg: 'query', duration_ms: n }),
    entry({ request_id: 'reused', msg: 'request finished', status: 200, duration_ms: 10 * n, db_queries: 1, db_ms: n }),
  ]);
  const { breakdown } = buildTimeline('reused', lines);
  t.match(breakdown, {
    serviceRequests: 2,
    serviceMs: 30,
    dbMs: 3,
    queries: 2,
    otherMs: 27,
    totalMs: 30,
    edgeOverheadMs: undefined,
  });
});

t.test('shortId: a UUID to its first 12 hex digits; other ids whole', async (t) => {
  t.equal(shortId('114892ee-a070-4799-aa7d-26b92e291079'), '114892ee-a070');
  t.equal(shortId('1-67891233-abcdef012345678912345678'), '1-67891233-abcdef012345678912345678');
});

t.test('renderTable: aligned columns; the shrinking column gives way to fit the width', async (t) => {
  const plain = styleFor({ isTTY: false }, {});
  const rows = [
    { name: 'GET /api/v1/todos?completed=false&window=30', ms: 12.5 },
    { name: 'GET /', ms: 3 },
  ];
  const columns = [
    { header: 'endpoint', align: 'left' as const, cell: (row: (typeof rows)[number]) => row.name, shrinks: true },
    { header: 'ms', align: 'right' as const, cell: (row: (typeof rows)[number]) => row.ms.toFixed(1) },
  ];
  t.same(renderTable(columns, rows, 120, plain), [
    'endpoint                                       ms',
    'GET /api/v1/todos?completed=false&window=30  12.5',
    'GET /                                         3.0',
  ]);
  t.same(renderTable(columns, rows, 30, plain), [
    'endpoint                    ms',
    'GET /api/v1/todos?compl…  12.5',
    'GET /                      3.0',
  ]);
  t.same(renderTable(columns, rows, 10, plain)[1], 'GET /api/v1/tod…  12.5', 'no narrower than 16 characters');
});

t.test('truncate marks the cut', async (t) => {
  t.equal(truncate('select 1', 8), 'select 1');
  t.equal(truncate('select 1', 7), 'select…');
  t.equal(truncate('select 1', 0), '');
});

t.test('color only on a terminal, and never with NO_COLOR', async (t) => {
  t.equal(styleFor({ isTTY: true }, {}).red('x'), '\x1b[31mx\x1b[39m');
  t.equal(styleFor({ isTTY: true }, { NO_COLOR: '1' }).red('x'), 'x');
  t.equal(styleFor({ isTTY: false }, {}).red('x'), 'x');
});
