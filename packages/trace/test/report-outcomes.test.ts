/**
 * The report's outcomes from lines fed through a LogSource (as CloudWatch Logs can feed them):
 * how requests are grouped by method, route and status, which lines are the load's, the think
 * time of a script that states none, and when a failed check is tied to a group of requests.
 */
import t from 'tap';
import { parseLogLine, type LogEntry } from '../src/log-entry.js';
import { explainCheck, headlineOf, noResponseFinding } from '../src/report/functional-verdict.js';
import type { Figures } from '../src/report/figure-types.js';
import type { K6Summary, LogSource, ReportInputs } from '../src/report/inputs.js';
import {
  collectOutcomes,
  iterationsOf,
  LOADTEST_REQUEST_ID_PREFIX,
  type Iterations,
  type RequestGroup,
} from '../src/report/outcomes.js';
import { throughputFinding } from '../src/report/verdict.js';

const START_MS = Date.parse('2026-12-06T12:00:00Z');
let sequence = 0;

/** A canonical line of a service, or of the edge. */
function line(fields: Record<string, unknown>): LogEntry {
  sequence += 1;
  return parseLogLine(
    JSON.stringify({
      level: 'info',
      time: new Date(START_MS + sequence).toISOString(),
      service: 'todo-write',
      hostname: 'todo-write-1',
      request_id: `r${sequence}`,
      duration_ms: 1,
      msg: 'request finished',
      ...fields,
    }),
  )!;
}

function source(entries: LogEntry[]): LogSource {
  return {
    description: 'in memory',
    local: false,
    async forEach(visit) {
      for (const entry of entries) visit(entry);
    },
  };
}

function inputs(entries: LogEntry[], summary?: K6Summary): ReportInputs {
  return {
    runDir: '/tmp/run',
    logs: source(entries),
    k6Summary: summary,
    k6Series: undefined,
    processes: { startedAtMs: START_MS, cores: 2, intervalMs: 1000, samples: [] },
    latencySvg: undefined,
    todoCounts: undefined,
    // A run against AWS also carries what CloudWatch held; this one has none.
    cloudWatch: undefined,
  };
}

t.test(
  'requests are grouped by method, route and status; paths that are not the route’s are shown as sent',
  async (t) => {
    const entries = [
      ...Array.from({ length: 3 }, () =>
        line({ method: 'DELETE', url: '/api/v1/todos/undefined', route: '/api/v1/todos/:id', status: 404 }),
      ),
      line({ method: 'DELETE', url: '/api/v1/todos/12', route: '/api/v1/todos/:id', status: 200 }),
      line({ method: 'DELETE', url: '/api/v1/todos/13', route: '/api/v1/todos/:id', status: 200 }),
      line({ method: 'GET', url: '/api/v1/nothing?x=1', status: 404, service: 'todo-read', hostname: 'todo-read-1' }),
      ...Array.from({ length: 25 }, (_, index) =>
        line({ method: 'PUT', url: `/api/v1/todos/x${index}`, route: '/api/v1/todos/:id', status: 404 }),
      ),
      // pnpm loadtest's own request, the edge passing an answer on, and the edge's own refusal.
      line({
        method: 'GET',
        url: '/api/v1/todos',
        route: '/api/v1/todos',
        status: 200,
        request_id: `${LOADTEST_REQUEST_ID_PREFIX}count-todos`,
      }),
      line({
        method: 'GET',
        url: '/api/v1/todos',
        status: 200,
        service: 'edge',
        hostname: 'edge',
        upstream: 'http://127.0.0.1:3101',
      }),
      line({ method: 'GET', url: '/api/v1/todos', status: 503, service: 'edge', hostname: 'edge' }),
      line({ method: 'POST', url: '/api/v1/todos', status: 413, service: 'edge', hostname: 'edge' }),
      line({ method: 'GET', url: '/api/v1/todos', status: 200, service: 'edge', hostname: 'edge', aborted: true }),
    ];
    const { requests } = await collectOutcomes(inputs(entries));
    const find = (method: string, path: string, status: number): RequestGroup | undefined =>
      requests.find((group) => group.method === method && group.path === path && group.status === status);
    t.match(find('DELETE', '/api/v1/todos/undefined', 404), {
      asSent: true,
      count: 3,
      answeredBy: 'todo-write',
      exampleRequestId: 'r1',
    });
    t.match(
      find('DELETE', '/api/v1/todos/:id', 200),
      { asSent: false, count: 2 },
      'numeric ids add up under the route',
    );
    t.match(
      find('GET', '/api/v1/nothing', 404),
      { asSent: true, count: 1 },
      'no route: the path as sent, without its query',
    );
    const puts = requests.filter((group) => group.method === 'PUT');
    t.equal(
      puts.filter((group) => !group.path.endsWith('(other paths)')).length,
      20,
      'at most 20 paths as sent per route and status',
    );
    t.equal(find('PUT', '/api/v1/todos/:id (other paths)', 404)?.count, 5, 'the rest under the route');
    t.notOk(
      find('GET', '/api/v1/todos', 200),
      "pnpm loadtest's own request and the edge's forwarded answer are not counted",
    );
    t.match(
      find('GET', '/api/v1/todos', 503),
      { answeredBy: 'edge', count: 1 },
      "the edge's own answers are: its queue's 503…",
    );
    t.match(find('POST', '/api/v1/todos', 413), { answeredBy: 'edge', count: 1 }, '…and a body it refused');
    t.ok(
      requests.findIndex((group) => group.status === 200) > requests.findLastIndex((group) => group.status >= 400),
      'failures come first',
    );
  },
);

t.test("a script that states no think time: it is estimated from k6's iterations", async (t) => {
  const metrics = (think?: Record<string, number>): K6Summary => ({
    ...(think && { run: { thinkSeconds: think } }),
    metrics: {
      iterations: { values: { count: 100 } },
      iteration_duration: { values: { avg: 2_010 } },
      http_reqs: { values: { count: 200 } },
      http_req_duration: { values: { avg: 5 } },
    },
  });
  t.match(iterationsOf(metrics()), {
    requestsPerIteration: 2,
    requestMsPerIteration: 10,
    thinkSeconds: 2,
    thinkSource: 'estimated',
  });
  t.match(
    iterationsOf(metrics({ studiers: 120, planners: 20 })),
    { thinkSeconds: 120, thinkSource: 'script' },
    'the studiers set the pace',
  );
  t.equal(iterationsOf({ metrics: {} }), undefined, 'nothing to go by');
});

t.test('a failed check is tied to requests only when their method, status and count fit', async (t) => {
  const group = (method: string, status: number, count: number): RequestGroup => ({
    method,
    path: '/api/v1/todos',
    asSent: false,
    status,
    answeredBy: 'todo-write',
    count,
    exampleRequestId: 'r1',
    firstAtMs: START_MS,
    lastAtMs: START_MS,
    medianMs: 1,
    maxMs: 1,
    errorCode: undefined,
    errorCause: undefined,
    dbMedianMs: 0,
    shed: undefined,
  });
  const check = { name: 'create status is 200', passes: 0, fails: 40, passRate: 0 };
  t.match(explainCheck(check, [group('GET', 200, 40), group('POST', 201, 40)])?.evidence, {
    method: 'POST',
    status: 201,
    count: 40,
  });
  t.equal(explainCheck(check, [group('POST', 201, 10)]), undefined, 'a count far from the failures explains nothing');
  t.equal(explainCheck(check, [group('POST', 200, 40)]), undefined, 'nor does the status it expects');
  t.equal(
    explainCheck({ ...check, fails: 0, passes: 40, passRate: 1 }, [group('POST', 201, 40)]),
    undefined,
    'a check that passed',
  );
});

t.test('the headline: failures first, else the saturated resource, else healthy', async (t) => {
  const figures = { failures: { client: { requests: 10, failed: 0, causes: {} } } } as unknown as Figures;
  const outcomes = await collectOutcomes(inputs([]));
  const passed = { ...outcomes, thresholds: [{ metric: 'checks', expression: 'rate==1', ok: true }] };
  t.match(headlineOf(passed, figures, undefined), /^Healthy: every threshold met \(1\)/);
  t.equal(headlineOf(passed, figures, 'edge (one core)'), 'Bottleneck: edge (one core) saturated.');
  const breached = { ...passed, thresholds: [{ metric: 'checks', expression: 'rate==1', ok: false }] };
  t.equal(
    headlineOf(breached, figures, 'edge (one core)'),
    'FAILED: 1 of 1 thresholds breached.',
    'a failure comes before saturation',
  );
});

t.test('requests that got no response at all: sent elsewhere than ENDPOINT, or nothing answered there', async (t) => {
  const figures = (noResponse: number) =>
    ({
      run: { endpoint: 'http://127.0.0.1:8080' },
      failures: { client: { requests: 100, failed: noResponse, causes: { 'status:0': noResponse } } },
    }) as unknown as Figures;
  const stats = line({ msg: 'stats', service: 'todo-read', hostname: 'todo-read-1' });
  const quietStack = await collectOutcomes(inputs([stats]));
  t.match(
    noResponseFinding(quietStack, figures(100))[0]?.sentence,
    /^100 of 100 requests got no response at all .* logged none of them: the script sends its requests elsewhere/,
  );
  const noLogs = await collectOutcomes(inputs([]));
  t.match(
    noResponseFinding(noLogs, figures(95))[0]?.sentence,
    /nothing answered where the script sent them\. Check that it reads .*__ENV\.ENDPOINT \(http:\/\/127\.0\.0\.1:8080\)/,
  );
  t.same(noResponseFinding(noLogs, figures(50)), [], 'not when half of them were answered');
});

t.test('a throughput plateau against VUs × requests per iteration ÷ (think time + request time)', async (t) => {
  const plateau = (vus: number, rps: number) =>
    ({
      throughput: { peakRps: rps, peakVus: vus * 1.3, plateau: { atSeconds: 190, vus, rps, vusLater: vus * 1.3 } },
    }) as unknown as Figures;
  const iterations = (thinkSeconds: number, requestMsPerIteration: number): Iterations => ({
    count: 1000,
    meanMs: thinkSeconds * 1000 + requestMsPerIteration,
    requestsPerIteration: 1,
    requestMsPerIteration,
    thinkSeconds,
    thinkSource: 'script',
  });
  const thinkBound = throughputFinding(plateau(6000, 60), iterations(120, 3));
  t.equal(
    thinkBound?.rule,
    'rate set by think time',
    '120 s of think, 3 ms of requests, k6 at or above the bound: not a plateau',
  );
  t.equal(thinkBound?.evidence.boundRps, 50, '6,000 ÷ 120.003 s');
  const behind = throughputFinding(plateau(6000, 20), iterations(120, 3));
  t.equal(behind?.rule, 'throughput plateau', 'k6 far below what its VUs would send: something held them');
  t.match(behind?.sentence, /would send ≈ 50 req\/s: k6 sent less/);
  const slow = throughputFinding(plateau(300, 200), iterations(1, 500));
  t.equal(slow?.rule, 'throughput plateau', 'requests a third of each iteration: their latency held the rate');
  t.match(slow?.sentence, /requests take 33 % of each iteration/);
  t.equal(
    throughputFinding(plateau(300, 200), undefined)?.rule,
    'throughput plateau',
    'no iterations to judge by: the plateau as it is',
  );
});

t.test('a group of half a million requests (a 5,000-VU run) is summed without overflowing the stack', async (t) => {
  // The same parsed line visited 500,000 times: the group's durations, not the parsing, are under test.
  const entry = line({
    service: 'todo-read',
    hostname: 'todo-read-1',
    method: 'GET',
    url: '/api/v1/todos',
    status: 200,
  });
  const slowest = line({
    service: 'todo-read',
    hostname: 'todo-read-1',
    method: 'GET',
    url: '/api/v1/todos',
    status: 200,
    duration_ms: 42,
  });
  const many: LogSource = {
    description: 'in memory',
    local: false,
    async forEach(visit) {
      for (let i = 0; i < 500_000; i += 1) visit(entry);
      visit(slowest);
    },
  };
  const { requests } = await collectOutcomes({ ...inputs([]), logs: many });
  const group = requests.find((candidate) => candidate.status === 200);
  t.equal(group?.count, 500_001);
  t.equal(group?.maxMs, 42, 'its slowest');
});
