/** `pnpm loadtest`: runs a k6 scenario against ENDPOINT or a local stack it starts, and reports. */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_RESULTS_ROOT, runLoadTest, SCALES, SCENARIOS, shown, type LoadTestOptions, type LoadTestResult, type Scale, type ScenarioName } from './run.js';

const USAGE = `Usage: pnpm loadtest [--scale smoke|local|full] [--scenario planners-and-studiers|stress] [options]

Runs a k6 scenario against ENDPOINT, or, when it is unset, against the local split stack it
starts itself (embedded PostgreSQL, Redis, todo-write, todo-read replicas, the load-balancer
stand-in, as pnpm start runs them, on a free port with a fresh database), then prints k6's
summary and writes it, k6's HTML report and a latency-over-time plot to
loadtests/results/<time>-<scenario>-<scale>/.

Scenarios:
  planners-and-studiers  the practical's: studiers list todos and think, planners create,
                         delete and re-list. Thresholds: 100 % checks, no failed request,
                         p95 < 100 ms per scenario
  stress                 studiers only, 1 s think time, ramping up to a target number of VUs
                         (finds the breaking point). Thresholds as above, p95 < 200 ms

Scales:            planners-and-studiers                      stress
  smoke            ≈ 40 s, ≤ 50 studiers, 5 planners            50 VUs,   ≈ 35 s
  local (default)  ≈ 2 min, ≤ 1500 studiers, 20 planners        1000 VUs, ≈ 2 min
  full             the original: ≈ 7 min, ≤ 7500 studiers        5000 VUs, ≈ 4 min
                   (120 s think time), 20 planners × 400

Options:
  --scale NAME        smoke, local or full (default: $SCALE, else local)
  --scenario NAME     planners-and-studiers (default) or stress
  --read-replicas N   local stack: todo-read replicas (default 2)
  --seed N            todos to create before the run (default: 100 on the local stack,
                      0 against ENDPOINT)
  --results DIR       where the run's directory goes (default loadtests/results)
  -h, --help          show this help

Environment:
  ENDPOINT              the API's base URL, e.g. the ALB's; unset: the local stack
  DATABASE_URL          local stack: use this PostgreSQL instead of a throwaway one
  REDIS_URL             local stack: use this Redis instead of a throwaway redis-server
  STUDIER_STAGES, STUDIER_SLEEP, PLANNER_VUS, PLANNER_ITERATIONS, PLANNER_SLEEP,
  PLANNER_MAX_DURATION, P95_MS (planners-and-studiers); TARGET_VUS, RAMP, HOLD,
  STUDIER_SLEEP, P95_MS (stress): override the scale's values; see loadtests/k6/*.js

Examples:
  pnpm loadtest --scale smoke
  pnpm loadtest --scale full
  pnpm loadtest --scenario stress --scale full
  ENDPOINT=http://my-alb.example.com pnpm loadtest --scale full

Exit status: 0 every threshold met, 1 a threshold breached or the run failed, 2 bad usage.
k6 must be installed: on PATH, or in $(go env GOPATH)/bin (go install go.k6.io/k6@v1.8.1).
See docs/load-testing.md.`;

const DEFAULT_LOCAL_SEED = 100;

/** A mistake in how pnpm loadtest was called; the message says what to change. Exit 2. */
class UsageError extends Error {}

function readOptions(argv: string[], env: NodeJS.ProcessEnv): Omit<LoadTestOptions, 'progress' | 'echoK6'> | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        scale: { type: 'string' },
        scenario: { type: 'string' },
        'read-replicas': { type: 'string' },
        seed: { type: 'string' },
        results: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';

  const scale = values.scale ?? (env.SCALE || 'local');
  if (!(SCALES as readonly string[]).includes(scale)) throw new UsageError(`--scale must be one of ${SCALES.join(', ')} (got "${scale}")`);
  const scenario = values.scenario ?? 'planners-and-studiers';
  if (!(scenario in SCENARIOS)) throw new UsageError(`--scenario must be one of ${Object.keys(SCENARIOS).join(', ')} (got "${scenario}")`);
  const endpoint = env.ENDPOINT?.replace(/\/+$/, '') || undefined;
  if (endpoint && !/^https?:\/\/[^/]+$/.test(endpoint)) {
    throw new UsageError(`ENDPOINT must be the API's base URL, such as http://127.0.0.1:8080 (got "${env.ENDPOINT}")`);
  }
  return {
    scenario: scenario as ScenarioName,
    scale: scale as Scale,
    endpoint,
    ...(env.DATABASE_URL && { databaseUrl: env.DATABASE_URL }),
    ...(env.REDIS_URL && { redisUrl: env.REDIS_URL }),
    readReplicas: wholeNumber('--read-replicas', values['read-replicas'] ?? '2', 1, 16),
    seedTodos: wholeNumber('--seed', values.seed ?? String(endpoint ? 0 : DEFAULT_LOCAL_SEED), 0, 10_000),
    // Relative to where the user ran pnpm from (pnpm runs scripts from the root; INIT_CWD keeps theirs).
    resultsRoot: values.results ? resolve(env.INIT_CWD ?? process.cwd(), values.results) : DEFAULT_RESULTS_ROOT,
  };
}

function wholeNumber(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max} (got "${text}")`);
  }
  return value;
}

/** Where everything went and what to do next, after k6's own summary. */
function report(result: LoadTestResult): string {
  const verdict = result.passed
    ? `PASSED: all ${result.thresholds.length} thresholds met`
    : `FAILED: ${result.failure}`;
  const lines = [
    `pnpm loadtest: ${verdict}`,
    `  summary  ${shown(result.files.summaryText)} (and .json)`,
    `  report   ${shown(result.files.report)}  (k6 web dashboard: open it in a browser)`,
    ...(result.files.plot ? [`  plot     ${shown(result.files.plot)}  (latency over time)`] : []),
  ];
  if (result.files.logs) {
    const logs = shown(result.files.logs);
    lines.push(
      `  logs     ${logs}/<instance>.log`,
      '',
      'Where the time went (docs/load-testing.md, "Finding a bottleneck with the logs"):',
      `  pnpm trace --logs ${logs} --endpoints       p50/p95/p99 per endpoint, as the services saw them`,
      `  pnpm trace --logs ${logs} --slowest 10      the slowest requests: db, cache and other time`,
      `  pnpm trace --logs ${logs} <request-id>      one of them, line by line`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  let options;
  try {
    options = readOptions(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`pnpm loadtest: ${error.message}\n(pnpm loadtest --help lists the options)`);
    return 2;
  }
  if (options === 'help') {
    console.log(USAGE);
    return 0;
  }

  // Ctrl-C: k6 stops as it would on its own (and still writes its summary), then the stack
  // stops. A second one exits at once.
  const interrupt = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupt.signal.aborted) process.exit(130);
    console.log(`\n${signal}: stopping k6, then the stack (again to exit at once)…`);
    interrupt.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const result = await runLoadTest({ ...options, echoK6: true, progress: (line) => console.log(line), abort: interrupt.signal });
  console.log(`\n${report(result)}`);
  return result.passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`\n✗ pnpm loadtest: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
