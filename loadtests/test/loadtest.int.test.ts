/**
 * The load test in CI: the real k6 runs the planners-and-studiers scenario at smoke scale
 * (≈ 40 s) against the real local stack, through the same runner as `pnpm loadtest`, and the
 * test fails when any threshold is breached or k6 is missing. The other tests prove that a
 * breach is noticed, that every scenario and scale is a valid k6 configuration, and that a
 * missing k6 is reported with how to install it.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, TEST_SERVICE_ENV } from '@taskoverflow/stack/testing';
import { vusWhereP95Crosses, type PeriodPoint } from '@taskoverflow/trace';
import t from 'tap';
import { findK6, K6_PINNED_VERSION } from '../loadtest/k6-binary.js';
import { runLoadTest, SCALES, SCENARIOS, type LoadTestOptions, type LoadTestResult } from '../loadtest/run.js';

const run = promisify(execFile);

t.test('smoke scale against the local stack: every check passes, every threshold holds', async (t) => {
  // The p95 < 100 ms target is a figure `pnpm loadtest` measures and reports; here, on a CI
  // machine whose two cores also run other test files, the latency threshold only has to
  // rule out a stall. Checks and failed requests keep their zero-tolerance thresholds.
  process.env.P95_MS = '2000';
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const progress: string[] = [];

  const [result, ...others] = await runLoadTest({
    scenario: 'planners-and-studiers',
    scale: 'smoke',
    endpoint: undefined,
    databaseUrl: database.url,
    ...(process.env.TEST_REDIS_URL && { redisUrl: process.env.TEST_REDIS_URL }),
    readReplicas: 2,
    // Not a test of shedding: on a busy CI machine a shed 503 would fail a studier's check.
    serviceEnv: { ...TEST_SERVICE_ENV },
    seedTodos: 50,
    resultsRoot: t.testdir(),
    echoK6: false,
    progress: (line) => progress.push(line),
  });

  if (!result) throw new Error('runLoadTest returned no result');
  t.same(others, [], 'one run: the stack, the default target');
  t.equal(result.target, 'stack');
  t.ok(result.passed, `the run passes: ${result.failure ?? 'every threshold met'}`, {
    summary: result.summaryText,
    k6: result.k6OutputTail,
  });
  t.same(
    result.thresholds
      .filter((threshold) => !threshold.ok)
      .map((threshold) => `${threshold.metric} ${threshold.expression}`),
    [],
    'no threshold breached',
  );
  t.ok(result.thresholds.length >= 8, 'checks, failed requests and p95 are judged per scenario');

  const summary = JSON.parse(await readFile(result.files.summaryJson, 'utf8')) as {
    metrics: Record<string, { values: Record<string, number> }>;
  };
  t.ok(summary.metrics['http_req_duration{scenario:studiers}']!.values.count! > 100, 'studiers listed todos');
  t.ok(
    summary.metrics['http_req_duration{scenario:planners}']!.values.count! >= 120,
    'planners created, deleted and re-listed 40 todos',
  );
  t.match(result.summaryText, /PASSED: all \d+ thresholds met/, 'the text summary gives the verdict');
  t.match(await readFile(result.files.report, 'utf8'), /<script id="data"/, 'k6 exported its HTML report');
  t.match(
    await readFile(result.files.plot!, 'utf8'),
    /^<svg[\s\S]*<path d="M[\s\S]*<\/svg>\n$/,
    'the latency plot was drawn',
  );
  t.match(
    await readFile(join(result.files.logs!, 'todo-read-1.log'), 'utf8'),
    /"msg":"request finished"/,
    'the services logged for pnpm trace',
  );
  t.match(progress.join('\n'), /seed: 50 todos created ✓/, 'the progress says what was seeded');
});

t.test('a breached threshold fails the run and is named', async (t) => {
  // A stand-in API whose creates fail: the planners' checks and requests fail, the studiers' pass.
  const server = await listen((request, response) => {
    const status = request.method === 'POST' ? 500 : 200;
    response
      .writeHead(status, { 'content-type': 'application/json' })
      .end(status === 200 ? '[]' : '{"error":"broken on purpose"}');
  });
  t.teardown(() => void server.close());

  const [result] = await runLoadTest(tinyRun(`http://127.0.0.1:${portOf(server)}`, t.testdir()));
  if (!result) throw new Error('runLoadTest returned no result');

  t.notOk(result.passed, 'the run fails');
  t.match(
    result.failure,
    /thresholds breached: .*checks\{scenario:planners\} rate==1/,
    'the failure names the planners’ checks',
  );
  t.match(result.failure, /http_req_failed\{scenario:planners\} rate==0/, 'and their failed requests');
  t.notMatch(result.failure, /scenario:studiers/, 'but not the studiers, who were answered');
  t.match(result.summaryText, /✗ planner: create is 201 {2}\(1 of 1 failed\)/, 'the summary shows the failed check');
});

t.test(
  '--target all: the ceiling, the balanced ceiling, then the stack, each with its figures and where p95 crossed the threshold',
  async (t) => {
    // A stand-in stack whose list takes 300 ms; the ceiling sends the same bytes at once. With a
    // p95 threshold of 250 ms, the stack's p95 is above it from the first requests on, whatever
    // the machine's load (nothing here depends on how fast anything is, only on that delay).
    const list = Buffer.from(JSON.stringify([{ id: 1, title: 'the stand-in list' }]));
    const server = await listen((request, response) => {
      const send = (): void =>
        void response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', etag: '"v1"' }).end(list);
      if (request.url === '/api/v1/health') send();
      else setTimeout(send, 300);
    });
    t.teardown(() => void server.close());

    const results = await runLoadTest({
      scenario: 'stress',
      scale: 'smoke',
      target: 'all',
      endpoint: `http://127.0.0.1:${portOf(server)}`,
      readReplicas: 2,
      seedTodos: 0,
      resultsRoot: t.testdir(),
      overrides: { TARGET_VUS: '5', RAMP: '2s', HOLD: '5s', STUDIER_SLEEP: '0.1', P95_MS: '250' },
      echoK6: false,
      progress: () => undefined,
    });

    t.same(
      results.map((result) => result.target),
      ['ceiling', 'balanced-ceiling', 'stack'],
      'the ceilings ran first, then the stack',
    );
    const [ceiling, balanced, stack] = results as [LoadTestResult, LoadTestResult, LoadTestResult];
    t.equal(new Set(results.map((result) => result.runDir)).size, 3, 'each run has its own directory');
    t.equal(new Set(results.map((result) => result.endpoint)).size, 3, 'each ceiling is a server of its own');
    for (const { endpoint } of [ceiling, balanced]) t.match(endpoint, /^http:\/\/127\.0\.0\.1:\d+$/, 'on loopback');

    // The balanced ceiling: --read-replicas bare servers behind the load balancer, which logged
    // every request k6 sent; each ceiling's figures are its own processes' and k6's, none else.
    const edgeLines = (await readFile(join(balanced.runDir, 'logs', 'edge.log'), 'utf8'))
      .split('\n')
      .filter((line) => line.includes('"msg":"request finished"'));
    const sent = JSON.parse(await readFile(join(balanced.runDir, 'studiers-stress-smoke-summary.json'), 'utf8')) as {
      metrics: { http_reqs: { values: { count: number } } };
    };
    t.equal(edgeLines.length, sent.metrics.http_reqs.values.count, 'the balancer logged each of the requests k6 sent');
    const upstreams = new Set(edgeLines.map((line) => (JSON.parse(line) as { upstream: string }).upstream));
    t.equal(upstreams.size, 2, `both bare servers answered (${[...upstreams].join(', ')})`);
    const measured = async (result: LoadTestResult): Promise<string[]> => {
      const { samples } = JSON.parse(await readFile(join(result.runDir, 'process-samples.json'), 'utf8')) as {
        samples: Array<{ processes: Record<string, unknown> }>;
      };
      return [...new Set(samples.flatMap((sample) => Object.keys(sample.processes)))].sort();
    };
    t.same(await measured(ceiling), ['ceiling', 'k6', 'pnpm loadtest'], "the ceiling's processes");
    t.same(
      await measured(balanced),
      ['ceiling-1', 'ceiling-2', 'ceiling-edge', 'k6', 'pnpm loadtest'],
      "the balanced ceiling's processes",
    );
    for (const result of results) {
      t.match(
        result.figures,
        { p95BoundMs: 250, checksPassed: 1, requestsFailed: 0, maxVus: 5 },
        `${result.target}: the summary's figures`,
      );
      t.ok(
        result.figures.requestsPerSecond! > 0 && result.figures.p95Ms! > 0,
        `${result.target}: req/s and p95 measured`,
      );
    }
    t.notOk(stack.passed, 'the slow stack breaches p95 < 250 ms');
    t.ok(stack.figures.p95Ms! >= 300, "the stack's p95 includes its 300 ms");
    // The VU gauge is sampled once a second, so the first period may still read 0 VUs.
    t.type(
      stack.figures.vusAtP95Crossing,
      'number',
      `the stack's p95 crossed 250 ms (at ${stack.figures.vusAtP95Crossing} VUs)`,
    );
    t.ok(stack.figures.vusAtP95Crossing! <= 5, 'within the VUs the run had');
  },
);

t.test(
  'the VUs where p95 crosses a bound: the first of 3 periods in a row above it, a single slow period aside',
  async (t) => {
    const point = (vus: number, p95Ms: number | undefined): PeriodPoint => ({
      atSeconds: vus,
      vus,
      requestsPerSecond: 1,
      failedShare: 0,
      medianMs: p95Ms,
      p95Ms,
      maxMs: p95Ms,
    });
    const series = [
      point(10, 50),
      point(20, 900),
      point(30, 60),
      point(40, 250),
      point(50, undefined),
      point(60, 210),
      point(70, 300),
      point(80, 400),
    ];
    t.equal(
      vusWhereP95Crosses(series, 200),
      60,
      'the blip at 20 VUs and the run broken by a period without requests do not count',
    );
    t.equal(vusWhereP95Crosses(series, 1000), undefined, 'never crossed');
  },
);

t.test('every scenario at every scale is a valid k6 configuration; bad overrides are refused by name', async (t) => {
  const k6 = findK6();
  // k6 inspect reads the options without running anything; -e sets the script's __ENV.
  const inspect = async (script: string, ...env: string[]) =>
    JSON.parse((await run(k6.path, ['inspect', ...env.flatMap((pair) => ['-e', pair]), script])).stdout) as {
      scenarios: unknown;
    };
  for (const [name, { script }] of Object.entries(SCENARIOS)) {
    for (const scale of SCALES) t.ok((await inspect(script, `SCALE=${scale}`)).scenarios, `${name} at ${scale} scale`);
  }
  t.match(
    (await inspect(SCENARIOS['planners-and-studiers'].script, 'SCALE=full')).scenarios,
    {
      studiers: {
        executor: 'ramping-vus',
        stages: [
          { duration: '1m0s', target: 1500 },
          { duration: '3m0s', target: 7500 },
          { duration: '2m0s', target: 0 },
        ],
      },
      planners: { executor: 'shared-iterations', vus: 20, iterations: 400 },
    },
    'full scale is the original scenario',
  );
  t.match(
    (await inspect(SCENARIOS.stress.script, 'SCALE=full')).scenarios,
    { studiers: { executor: 'ramping-vus', stages: [{ target: 5000 }, { target: 5000 }, { target: 0 }] } },
    'the stress variant ramps to 5000 studiers at full scale',
  );
  await t.rejects(
    inspect(SCENARIOS['planners-and-studiers'].script, 'STUDIER_STAGES=1m-1500'),
    /STUDIER_STAGES must be stages written duration:VUs/,
    'a malformed override stops k6 with its name',
  );
});

t.test('without k6, the error says how to install it', async (t) => {
  const nowhere = t.testdir();
  t.throws(
    () => findK6({ PATH: nowhere, GOBIN: nowhere }),
    { code: 'TASKOVERFLOW_K6_MISSING', message: /^k6 is not installed/ },
    'k6 is missing',
  );
  t.throws(
    () => findK6({ PATH: nowhere, GOBIN: nowhere }),
    { message: new RegExp(`go install go\\.k6\\.io/k6@${K6_PINNED_VERSION}`) },
    'the message gives the install command',
  );
});

/** A few seconds of k6: one planner iteration, two studiers. */
function tinyRun(endpoint: string, resultsRoot: string): LoadTestOptions {
  return {
    scenario: 'planners-and-studiers',
    scale: 'smoke',
    endpoint,
    readReplicas: 1,
    seedTodos: 0,
    resultsRoot,
    overrides: {
      STUDIER_STAGES: '2s:2',
      STUDIER_SLEEP: '0.2',
      PLANNER_VUS: '1',
      PLANNER_ITERATIONS: '1',
      PLANNER_SLEEP: '0',
    },
    echoK6: false,
    progress: () => undefined,
  };
}

async function listen(handler: Parameters<typeof createServer>[1]): Promise<Server> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the stand-in API has no TCP port');
  return address.port;
}
