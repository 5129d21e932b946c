/**
 * `pnpm loadtest <script>`: a user's own k6 script, with the practical's two mistakes
 * (loadtests/k6/examples/practical-mistakes.js: a create's check expecting 200, deletes sent to
 * /api/v1/todos/undefined), run by the real k6 against the real local stack through the same
 * runner as the CLI; its report's verdict must name the failed checks and the unmatched path,
 * with counts and request ids that are in the services' logs, and the todos left behind. A
 * script k6 cannot load, and an ENDPOINT where nothing answers, fail at once with typed errors.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTestDatabase, TEST_SERVICE_ENV } from '@taskoverflow/stack/testing';
import { writeBottleneckReport } from '@taskoverflow/trace';
import t from 'tap';
import { ENDPOINT_UNREACHABLE_CODE, K6_SCRIPT_INVALID_CODE } from '../errors.js';
import { runLoadTest, type LoadTestOptions } from '../loadtest/run.js';

const PRACTICAL_MISTAKES = fileURLToPath(new URL('../k6/examples/practical-mistakes.js', import.meta.url));
/** Planner iterations, set through a k6 flag (-e) to show that flags after -- reach k6. */
const PLANNER_ITERATIONS = 4;

function scriptRun(
  script: string,
  resultsRoot: string,
  progress: string[],
  extra: Partial<LoadTestOptions> = {},
): LoadTestOptions {
  return {
    scenario: 'planners-and-studiers',
    scale: 'smoke',
    script,
    k6Args: ['-e', `PLANNER_ITERATIONS=${PLANNER_ITERATIONS}`],
    overrides: { STUDIERS: '3', THINK: '0.5' },
    endpoint: undefined,
    readReplicas: 2,
    serviceEnv: { ...TEST_SERVICE_ENV },
    seedTodos: 10,
    resultsRoot,
    echoK6: false,
    progress: (line) => progress.push(line),
    ...extra,
  };
}

t.test(
  "the practical's mistakes: the verdict names the failed checks, the unmatched path and the todos left behind",
  async (t) => {
    const database = await createTestDatabase();
    t.teardown(() => database.drop());
    const progress: string[] = [];
    const [result] = await runLoadTest(
      scriptRun(PRACTICAL_MISTAKES, t.testdir(), progress, {
        databaseUrl: database.url,
        ...(process.env.TEST_REDIS_URL && { redisUrl: process.env.TEST_REDIS_URL }),
      }),
    );
    if (!result) throw new Error('runLoadTest returned no result');
    t.notOk(result.passed, 'the script’s own threshold on checks is breached');
    t.match(
      progress.join('\n'),
      /script: .*practical-mistakes\.js loads in k6 ✓/,
      'k6 loaded the script before the stack started',
    );

    const { verdict, outcomes } = await writeBottleneckReport(result.runDir);
    const writeLog = await readFile(join(result.files.logs!, 'todo-write-1.log'), 'utf8');
    const deletes = writeLog
      .split('\n')
      .filter((line) => line.includes('"msg":"request finished"') && line.includes('"method":"DELETE"'))
      .map((line) => JSON.parse(line) as { url: string; status: number; request_id: string });
    t.equal(
      deletes.length,
      PLANNER_ITERATIONS,
      `the logs: ${PLANNER_ITERATIONS} deletes, one per planner iteration (the -e flag reached k6)`,
    );
    t.ok(
      deletes.every((line) => line.url === '/api/v1/todos/undefined' && line.status === 404),
      'the logs: each went to /api/v1/todos/undefined and was answered 404',
    );

    t.match(
      verdict.headline,
      new RegExp(
        `^FAILED: 2 of 3 checks failed; ${PLANNER_ITERATIONS} requests failed \\(DELETE /api/v1/todos/undefined → 404 × ${PLANNER_ITERATIONS}\\)`,
      ),
    );
    const checks = verdict.findings.find((finding) => finding.rule === 'failed checks');
    t.match(checks?.sentence, /“create status is 200” passed 0 % \(0 of 4\)/);
    t.match(checks?.sentence, /“delete status is 200” passed 0 % \(0 of 4\)/);

    const group = verdict.findings.find((finding) => finding.rule === 'failed request group');
    t.match(group?.evidence, {
      method: 'DELETE',
      path: '/api/v1/todos/undefined',
      status: 404,
      count: PLANNER_ITERATIONS,
    });
    t.ok(
      deletes.some((line) => line.request_id === group?.evidence.exampleRequestId),
      `its example request id (${group?.evidence.exampleRequestId}) is one of the deletes, for pnpm trace`,
    );
    t.match(group?.sentence, /because the id in the path is “undefined”, not a number/);
    t.ok(
      outcomes.requests.some(
        (row) =>
          row.method === 'POST' &&
          row.path === '/api/v1/todos' &&
          row.status === 201 &&
          row.count === PLANNER_ITERATIONS,
      ),
      'the requests table has the creates, answered 201',
    );

    const explained = verdict.findings
      .filter((finding) => finding.rule === 'check explained')
      .map((finding) => finding.sentence);
    t.match(
      explained.find((sentence) => sentence.includes('create status is 200')),
      /were answered 201: the check expects 200, and the API answers 201 to this request when it succeeds/,
      'the failed create check is tied to the 201s',
    );
    t.match(
      explained.find((sentence) => sentence.includes('delete status is 200')),
      /DELETE \/api\/v1\/todos\/undefined were answered 404/,
      'the failed delete check is tied to the unmatched path',
    );
    const left = verdict.findings.find((finding) => finding.rule === 'todos left behind');
    t.match(left?.evidence, { before: 10, after: 10 + PLANNER_ITERATIONS, change: PLANNER_ITERATIONS });
    t.match(left?.sentence, new RegExp(`^The run left ${PLANNER_ITERATIONS} todos behind`));
  },
);

t.test('a script’s own handleSummary and thresholds stay its own, beside the files the report reads', async (t) => {
  const server = createHttpServer((request, response) => {
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(request.url === '/api/v1/health' ? '{"status":"ok"}' : '[]');
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => void server.close());
  const dir = t.testdir();
  const script = join(dir, 'own-summary.js');
  await writeFile(
    script,
    [
      "import http from 'k6/http';",
      'export const options = { vus: 1, iterations: 3, thresholds: { http_req_duration: ["p(99)<60000"] } };',
      'export default function () { http.get(`${__ENV.ENDPOINT}/api/v1/todos`); }',
      'export function handleSummary(data) {',
      '  return { [`${__ENV.RESULTS_DIR}/mine.json`]: JSON.stringify({ requests: data.metrics.http_reqs.values.count }) };',
      '}',
    ].join('\n'),
  );
  const { port } = server.address() as { port: number };
  const [result] = await runLoadTest(
    scriptRun(script, dir, [], { endpoint: `http://127.0.0.1:${port}`, k6Args: [], seedTodos: 0 }),
  );
  if (!result) throw new Error('runLoadTest returned no result');
  t.ok(result.passed, `its own threshold held: ${result.failure ?? ''}`);
  t.same(
    result.thresholds.map((threshold) => `${threshold.metric} ${threshold.expression}`),
    ['http_req_duration p(99)<60000'],
    'its thresholds are judged, and only they (the failure-cause counters are not thresholds of the run)',
  );
  t.same(
    JSON.parse(await readFile(join(result.runDir, 'mine.json'), 'utf8')),
    { requests: 3 },
    'its handleSummary wrote its file',
  );
  t.match(result.files.summaryJson, /own-summary-summary\.json$/);
  const summary = JSON.parse(await readFile(result.files.summaryJson, 'utf8')) as {
    run: { script: string };
    root_group: unknown;
  };
  t.equal(summary.run.script, script, 'and the summary the report reads names the script');
  t.ok(summary.root_group, 'with its checks');
});

t.test('a script k6 cannot load fails before anything starts, with k6’s message', async (t) => {
  const dir = t.testdir();
  const broken = join(dir, 'broken.js');
  await writeFile(
    broken,
    "import http from 'k6/http';\nexport default function () {\n  http.get(`${__ENV.ENDPOINT}/api/v1/todos`;\n}\n",
  );
  const progress: string[] = [];
  await t.rejects(runLoadTest(scriptRun(broken, dir, progress)), {
    code: K6_SCRIPT_INVALID_CODE,
    message: new RegExp(
      `^k6 cannot load ${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*broken\\.js: Line 3:\\d+ .*k6 inspect`,
    ),
  });
  t.notOk(
    progress.some((line) => line.startsWith('local stack')),
    'no stack was started',
  );
});

t.test('an ENDPOINT where nothing answers fails at once, naming it', async (t) => {
  // A port that was free a moment ago: nothing listens there.
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  const endpoint = `http://127.0.0.1:${port}`;
  await t.rejects(runLoadTest(scriptRun(PRACTICAL_MISTAKES, t.testdir(), [], { endpoint })), {
    code: ENDPOINT_UNREACHABLE_CODE,
    message: new RegExp(`^nothing answers at ENDPOINT=${endpoint} \\(GET /api/v1/health failed: ECONNREFUSED\\)`),
  });
});

t.test('the command line: a scenario and a script at once is a usage error (exit 2)', async (t) => {
  const cli = fileURLToPath(new URL('../loadtest/cli.ts', import.meta.url));
  const run = async (...args: string[]) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', '--conditions=development', cli, ...args]).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
  t.match(
    await run(PRACTICAL_MISTAKES, '--scenario', 'stress'),
    { code: 2, stderr: /--scenario is for the built-in scenarios, not a script of your own/ },
    'a scenario and a script at once',
  );
});
