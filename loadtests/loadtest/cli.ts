/** `pnpm loadtest`: runs a k6 scenario or the user's own script against ENDPOINT or a local stack it starts, and reports. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Interruption } from '@taskoverflow/config';
import {
  compareUsage,
  isCompareCommand,
  previousRunOf,
  runCompareCommand,
  stackTotal,
  verdictLines,
  writeBottleneckReport,
} from '@taskoverflow/trace';
import { AWS_CLI_OPTIONS, AWS_CLI_USAGE, type AwsReadSettings } from '@taskoverflow/trace/cloudwatch';
import { LOADTEST_USAGE_CODE, LoadTestUsageError } from '../errors.js';
import { awsOption, readRunFromCloudWatch } from './aws-cloudwatch.js';
import {
  DEFAULT_RESULTS_ROOT,
  LOAD_TARGETS,
  runLoadTest,
  SCALES,
  SCENARIOS,
  shown,
  type LoadTarget,
  type LoadTestOptions,
  type LoadTestResult,
  type Scale,
  type ScenarioName,
} from './run.js';

const USAGE = `Usage: pnpm loadtest [--scale smoke|local|full] [--scenario planners-and-studiers|stress] [--target stack|ceiling|balanced-ceiling|both|all] [options]
       pnpm loadtest path/to/script.js [options] [-- k6 run flags]
       pnpm loadtest --compare RUN_A RUN_B [--out DIR]

Runs a k6 scenario, or your own k6 script, against ENDPOINT, or, when it is unset, against
the local split stack it starts itself (embedded PostgreSQL, Redis, todo-write, todo-read
replicas, the load-balancer stand-in, as pnpm start runs them, on a free port with a fresh
database), then prints k6's summary and writes it, k6's HTML report and a latency-over-time
plot to loadtests/results/<time>-<scenario>-<scale>/ (<time>-<script name>/ for a script).
Then the bottleneck report there, bottlenecks.html and .json, and its verdict printed at the
end: what failed first (failed checks by name, requests by method, route and status with an
example request id, each failure traced to its cause, the todos before and after the run),
then k6's percentiles beside the edge's and the services', CPU and memory per process
(sampled from /proc while k6 runs), the read path over time, the slowest requests, and the
saturated resource, or that nothing saturated (a request rate set by the VUs' think time is
told from a saturated one). pnpm trace --report DIR writes it again from the saved files;
docs/load-testing.md.

Your own script: it reads the API's base URL from __ENV.ENDPOINT (set to ENDPOINT, or to the
local stack), as the practical's scripts do; its options, thresholds and handleSummary stay
its own (pnpm loadtest adds the summary files the report reads). It is loaded with k6 inspect
before anything starts: a script that does not parse fails at once with k6's message, and so
does an ENDPOINT where nothing answers. Flags after -- go to k6 run as they are (--vus 10
--duration 30s, -e NAME=value…). Example: loadtests/k6/examples/practical-mistakes.js.

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

Targets (stress only for all but stack):
  stack (default)  the stack: ENDPOINT or the local stack
  ceiling          the ceiling (k6's floor): the same VUs and think time against a bare
                   node:http server answering every request with the list's bytes and
                   headers, as the stack sent them after seeding (the stack still starts,
                   for those bytes). What k6 itself costs on this machine, with no
                   application behind it
  balanced-ceiling the stack's plumbing without its application: as many bare servers as
                   --read-replicas, behind the stack's load balancer (HAProxy or the Node
                   edge, each request logged). What the topology costs on this machine;
                   the stack's CPU per request beyond it is the services' own
  both             the ceiling, then the stack, in one session; prints them side by side:
                   p95 (target: the stack's at most 1.5× the ceiling's), req/s, checks, failed,
                   the VUs at which p95 went above the scenario's p95 threshold for good
                   (3 one-second periods in a row, from k6's per-second data), and the CPU
                   per request of the system under test (every process but k6 and this one)
  all              the ceiling, the balanced ceiling, then the stack, side by side as both

Options:
  SCRIPT              your own k6 script (a path; instead of --scenario, --scale, --target)
  -- FLAGS            the rest of the line goes to k6 run
  --scale NAME        smoke, local or full (default: $SCALE, else local)
  --scenario NAME     planners-and-studiers (default) or stress
  --target NAME       stack (default), ceiling, balanced-ceiling, both or all
  --read-replicas N   local stack: todo-read replicas (default 2)
  --seed N            todos to create before the run (default: 100 on the local stack,
                      0 against ENDPOINT)
  --results DIR       where the run's directory goes (default loadtests/results)
${compareUsage(22)}
  -h, --help          show this help

${AWS_CLI_USAGE}

Environment:
  ENDPOINT              the API's base URL, e.g. the ALB's; unset: the local stack
  DATABASE_URL          local stack: use this PostgreSQL instead of a throwaway one
  REDIS_URL             local stack: use this Redis instead of a throwaway redis-server
  STUDIER_STAGES, STUDIER_SLEEP, PLANNER_VUS, PLANNER_ITERATIONS, PLANNER_SLEEP,
  PLANNER_MAX_DURATION, P95_MS (planners-and-studiers); TARGET_VUS, RAMP, HOLD,
  STUDIER_SLEEP, P95_MS (stress): override the scale's values; see loadtests/k6/*.js

Examples:
  pnpm loadtest --scale smoke
  pnpm loadtest my-test.js
  pnpm loadtest my-test.js -- --vus 20 --duration 1m
  ENDPOINT=http://my-alb.example.com pnpm loadtest my-test.js
  pnpm loadtest --scale full
  pnpm loadtest --scenario stress --scale full
  pnpm loadtest --scenario stress --scale full --target both
  pnpm loadtest --scenario stress --scale full --target all
  ENDPOINT=http://my-alb.example.com pnpm loadtest --scale full

Exit status: 0 every threshold met, 1 a threshold breached or the run failed (a script k6
cannot load, an ENDPOINT where nothing answers), 2 bad usage. Ctrl-C stops k6 (the run so
far is reported), then the stack, and exits 0 (130 when run without pnpm).
k6 must be installed: on PATH, or in $(go env GOPATH)/bin (go install go.k6.io/k6@v1.8.1).
See docs/load-testing.md.`;

const DEFAULT_LOCAL_SEED = 100;

function readOptions(
  argv: string[],
  env: NodeJS.ProcessEnv,
): (Omit<LoadTestOptions, 'progress' | 'echoK6'> & { aws: AwsReadSettings | undefined }) | 'help' {
  // Everything after `--` is k6's.
  const end = argv.indexOf('--');
  const ours = end === -1 ? argv : argv.slice(0, end);
  const k6Args = end === -1 ? [] : argv.slice(end + 1);
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: ours,
      allowPositionals: true,
      options: {
        scale: { type: 'string' },
        scenario: { type: 'string' },
        target: { type: 'string' },
        'read-replicas': { type: 'string' },
        seed: { type: 'string' },
        results: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        ...AWS_CLI_OPTIONS,
      },
    }));
  } catch (error) {
    throw new LoadTestUsageError((error as Error).message);
  }
  if (values.help) return 'help';
  // Relative to where the user ran pnpm from (pnpm runs scripts from the root; INIT_CWD keeps theirs).
  const userDirectory = env.INIT_CWD ?? process.cwd();
  if (positionals.length > 1) throw new LoadTestUsageError(`one script at a time (got ${positionals.join(', ')})`);
  const script = positionals[0] === undefined ? undefined : resolve(userDirectory, positionals[0]);
  if (script !== undefined) {
    for (const option of ['scenario', 'scale', 'target'] as const) {
      if (values[option] !== undefined) {
        throw new LoadTestUsageError(
          `--${option} is for the built-in scenarios, not a script of your own (${positionals[0]})`,
        );
      }
    }
    if (!existsSync(script)) throw new LoadTestUsageError(`no such script: ${script}`);
  } else if (k6Args.length > 0) {
    throw new LoadTestUsageError(
      'flags after -- go to k6 with a script of your own (pnpm loadtest my-test.js -- --vus 10)',
    );
  }

  const scale = values.scale ?? (env.SCALE || 'local');
  if (!(SCALES as readonly string[]).includes(scale))
    throw new LoadTestUsageError(`--scale must be one of ${SCALES.join(', ')} (got "${scale}")`);
  const scenario = values.scenario ?? 'planners-and-studiers';
  if (!(scenario in SCENARIOS))
    throw new LoadTestUsageError(`--scenario must be one of ${Object.keys(SCENARIOS).join(', ')} (got "${scenario}")`);
  const target = values.target ?? 'stack';
  if (!(LOAD_TARGETS as readonly string[]).includes(target))
    throw new LoadTestUsageError(`--target must be one of ${LOAD_TARGETS.join(', ')} (got "${target}")`);
  if (target !== 'stack' && !SCENARIOS[scenario as ScenarioName].readOnly) {
    throw new LoadTestUsageError(
      `--target ${target} needs --scenario stress: the ceiling answers every request with the list, and ${scenario}'s planners write`,
    );
  }
  const endpoint = env.ENDPOINT?.replace(/\/+$/, '') || undefined;
  if (endpoint && !/^https?:\/\/[^/]+$/.test(endpoint)) {
    throw new LoadTestUsageError(
      `ENDPOINT must be the API's base URL, such as http://127.0.0.1:8080 (got "${env.ENDPOINT}")`,
    );
  }
  return {
    scenario: scenario as ScenarioName,
    scale: scale as Scale,
    ...(script !== undefined && { script, k6Args }),
    target: target as LoadTarget,
    endpoint,
    ...(env.DATABASE_URL && { databaseUrl: env.DATABASE_URL }),
    ...(env.REDIS_URL && { redisUrl: env.REDIS_URL }),
    readReplicas: wholeNumber('--read-replicas', values['read-replicas'] ?? '2', 1, 16),
    seedTodos: wholeNumber('--seed', values.seed ?? String(endpoint ? 0 : DEFAULT_LOCAL_SEED), 0, 10_000),
    resultsRoot: values.results ? resolve(userDirectory, values.results) : DEFAULT_RESULTS_ROOT,
    aws: awsOption(values, endpoint, env, userDirectory),
  };
}

function wholeNumber(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new LoadTestUsageError(`${name} must be a whole number from ${min} to ${max} (got "${text}")`);
  }
  return value;
}

/** Where everything went and what to do next, after k6's own summary. */
function report(result: LoadTestResult): string {
  const verdict = result.passed
    ? `PASSED: all ${result.thresholds.length} thresholds met`
    : `FAILED: ${result.failure}`;
  const { figures } = result;
  const lines = [
    `pnpm loadtest (${result.target}): ${verdict}`,
    `  figures  p95 ${milliseconds(figures.p95Ms)}, ${rate(figures.requestsPerSecond)} req/s, checks ${share(figures.checksPassed)}, ` +
      `failed ${share(figures.requestsFailed)}, up to ${figures.maxVus ?? '?'} VUs; p95 above ${figures.p95BoundMs ?? '?'} ms from ${crossingText(result)}`,
    `  summary  ${shown(result.files.summaryText)} (and .json)`,
    `  report   ${shown(result.files.report)}  (k6 web dashboard: open it in a browser)`,
    ...(result.files.plot ? [`  plot     ${shown(result.files.plot)}  (latency over time)`] : []),
  ];
  const logs = result.files.logs && shown(result.files.logs);
  if (logs) lines.push(`  logs     ${logs}/<instance>.log`);
  // The services' own lines: the balanced ceiling logs its load balancer's only.
  if (logs && result.target === 'stack') {
    lines.push(
      '',
      'Where the time went (docs/load-testing.md, "Finding a bottleneck with the logs"):',
      `  pnpm trace --logs ${logs} --endpoints       p50/p95/p99 per endpoint, as the services saw them`,
      `  pnpm trace --logs ${logs} --slowest 10      the slowest requests: db, cache and other time`,
      `  pnpm trace --logs ${logs} <request-id>      one of them, line by line`,
    );
  }
  return lines.join('\n');
}

/** A run of a session, with the CPU per request of what it ran against (its bottleneck report's). */
interface ComparedResult {
  result: LoadTestResult;
  cpuPerRequestUs: number | undefined;
}

/** The session's runs side by side, with the target on the stack's p95 when the ceiling ran too. */
function comparison(compared: ComparedResult[]): string {
  const width = Math.max(...compared.map(({ result }) => result.target.length));
  const row = ({ result, cpuPerRequestUs }: ComparedResult): string =>
    `  ${result.target.padEnd(width)} ${milliseconds(result.figures.p95Ms).padStart(9)}  ${rate(result.figures.requestsPerSecond).padStart(7)}  ${share(result.figures.checksPassed).padStart(7)}  ` +
    `${share(result.figures.requestsFailed).padStart(7)}  ${(cpuPerRequestUs === undefined ? 'n/a' : `${Math.round(cpuPerRequestUs)} µs`).padStart(9)}  ${crossingText(result)}`;
  const last = compared.at(-1)!.result;
  const ceiling = compared.find(({ result }) => result.target === 'ceiling')?.result;
  const stack = compared.find(({ result }) => result.target === 'stack')?.result;
  const ratio =
    ceiling?.figures.p95Ms && stack?.figures.p95Ms !== undefined
      ? stack.figures.p95Ms / ceiling.figures.p95Ms
      : undefined;
  return [
    `Side by side (${last.figures.maxVus ?? '?'} VUs at most; CPU: every process but k6 and pnpm loadtest):`,
    `  ${'target'.padEnd(width)}       p95    req/s   checks   failed  CPU / req  p95 above ${last.figures.p95BoundMs ?? '?'} ms from`,
    ...compared.map(row),
    ...(ceiling && stack
      ? [
          `  stack p95 ≤ ${MAX_P95_TO_CEILING}× the ceiling's: ${ratio === undefined ? '– not measured' : `${ratio <= MAX_P95_TO_CEILING ? '✓' : '✗'} ${ratio.toFixed(2)}×`}`,
        ]
      : []),
  ].join('\n');
}

/** The stress target (issue #23): the stack's p95 at most this many times k6's own floor. */
const MAX_P95_TO_CEILING = 1.5;

function milliseconds(value: number | undefined): string {
  return value === undefined ? 'n/a' : `${value.toFixed(value < 10 ? 1 : 0)} ms`;
}

function rate(value: number | undefined): string {
  return value === undefined ? 'n/a' : Math.round(value).toLocaleString('en-US');
}

function share(value: number | undefined): string {
  return value === undefined ? 'n/a' : `${(value * 100).toFixed(value === 0 || value === 1 ? 0 : 2)} %`;
}

function crossingText(result: LoadTestResult): string {
  return result.figures.vusAtP95Crossing === undefined ? 'never' : `${result.figures.vusAtP95Crossing} VUs`;
}

async function main(): Promise<number> {
  if (isCompareCommand(process.argv.slice(2))) {
    return runCompareCommand(process.argv.slice(2), {
      command: 'pnpm loadtest',
      env: process.env,
      stdout: process.stdout,
      stderr: process.stderr,
    });
  }
  let options;
  try {
    options = readOptions(process.argv.slice(2), process.env);
  } catch (error) {
    if ((error as { code?: unknown } | undefined)?.code !== LOADTEST_USAGE_CODE) throw error;
    console.error(`pnpm loadtest: ${(error as Error).message}\n(pnpm loadtest --help lists the options)`);
    return 2;
  }
  if (options === 'help') {
    console.log(USAGE);
    return 0;
  }

  // Ctrl-C: k6 stops as it would on its own (and still writes its summary, which is reported),
  // then the stack stops.
  const interruption = new Interruption('stopping k6, then the stack (again to exit at once)…');

  let results: LoadTestResult[];
  try {
    results = await runLoadTest({
      ...options,
      echoK6: true,
      progress: (line) => console.log(line),
      abort: interruption.signal,
    });
  } catch (error) {
    // Stopped before k6 ran: nothing to report.
    const interrupted = interruption.exitCode('loadtest');
    if (interrupted !== undefined) return interrupted;
    throw error;
  }
  const compared: ComparedResult[] = [];
  for (const result of results) {
    console.log(`\n${report(result)}`);
    if (options.aws && result.target === 'stack')
      await readRunFromCloudWatch(result.runDir, options.aws, (line) => console.log(line));
    // Once the stack has stopped: its log files are complete, with each service's last stats line.
    const bottlenecks = await writeBottleneckReport(result.runDir);
    compared.push({
      result,
      cpuPerRequestUs: stackTotal(bottlenecks.figures.processes.list, (process) => process.cpuPerRequestUs),
    });
    console.log(
      `\n${verdictLines(bottlenecks.verdict).join('\n')}\n  details  ${shown(bottlenecks.files.html)} (and .json)`,
    );
    const previous = await previousRunOf(result.runDir);
    if (previous)
      console.log(
        `  compare  pnpm loadtest --compare ${shown(previous)} ${shown(result.runDir)}  (with the run before)`,
      );
  }
  if (compared.length > 1) console.log(`\n${comparison(compared)}`);
  return interruption.exitCode('loadtest') ?? (results.every((result) => result.passed) ? 0 : 1);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`\n✗ pnpm loadtest: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
