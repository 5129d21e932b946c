/**
 * One load test: find k6, start the local stack unless an endpoint is given, seed it, run a
 * built-in scenario or the user's own script against the stack (a scenario also against the
 * ceilings: k6's floor, a bare node:http server sending the same list, and the balanced ceiling,
 * the stack's load balancer in front of bare servers; RUNS), count
 * the todos before and after, then turn k6's output into a verdict, figures and a
 * latency-over-time plot per run. Used by `pnpm loadtest` and by the tests that run it against a real stack.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  isCeilingProcess,
  p95TargetOf,
  readDashboardSeries,
  renderLatencyPlot,
  REPORT_INPUT_FILES,
  vusWhereP95Crosses,
  type PeriodPoint,
  type TodoCounts,
} from '@taskoverflow/trace';
import { startCeilingTarget, type CeilingTarget } from './ceiling-target.js';
import { requireReachable } from './endpoint-probe.js';
import { findK6, type K6Binary } from './k6-binary.js';
import { K6_THRESHOLDS_BREACHED, runK6 } from './k6-run.js';
import { startLocalTarget, type LocalTarget } from './local-target.js';
import { ProcessSampler } from './process-sampler.js';
import { countTodos, seedTodos } from './seed.js';
import { inspectScript, scriptRunName, writeEntryModule } from './user-script.js';

export const SCALES = ['smoke', 'local', 'full'] as const;
export type Scale = (typeof SCALES)[number];

const K6_DIR = fileURLToPath(new URL('../k6/', import.meta.url));
export const DEFAULT_RESULTS_ROOT = fileURLToPath(new URL('../results/', import.meta.url));

/**
 * The scenarios, by the name `--scenario` takes; `name` is what the script calls its run.
 * `readOnly`: it only lists todos, so the ceiling (a server answering every request with the
 * list) can run it too; the planners' writes have no such stand-in.
 */
export const SCENARIOS = {
  'planners-and-studiers': {
    script: join(K6_DIR, 'planners-and-studiers.js'),
    name: 'planners-and-studiers',
    readOnly: false,
  },
  stress: { script: join(K6_DIR, 'studiers-stress.js'), name: 'studiers-stress', readOnly: true },
} as const;
export type ScenarioName = keyof typeof SCENARIOS;

/**
 * What k6 runs against: the stack, the ceiling server (k6's floor), the balanced ceiling (the
 * stack's load balancer in front of bare servers), or several in turn, the ceilings first.
 */
export const LOAD_TARGETS = ['stack', 'ceiling', 'balanced-ceiling', 'both', 'all'] as const;
export type LoadTarget = (typeof LOAD_TARGETS)[number];
/** What one k6 run was pointed at. */
export type RunTarget = Exclude<LoadTarget, 'both' | 'all'>;
/** The k6 runs of each target, in the order they run. */
const RUNS: Record<LoadTarget, readonly RunTarget[]> = {
  stack: ['stack'],
  ceiling: ['ceiling'],
  'balanced-ceiling': ['balanced-ceiling'],
  both: ['ceiling', 'stack'],
  all: ['ceiling', 'balanced-ceiling', 'stack'],
};

export interface LoadTestOptions {
  scenario: ScenarioName;
  scale: Scale;
  /** A k6 script of the user's own (a path), run instead of the scenario: scenario and scale do not apply. */
  script?: string;
  /** More flags for `k6 run`, as given (`--vus 10 --duration 30s`); they override the script's options. */
  k6Args?: string[];
  /** The system under test; unset: start the local stack. */
  endpoint: string | undefined;
  /** Local stack only: use this database / Redis instead of throwaway ones. */
  databaseUrl?: string;
  redisUrl?: string;
  readReplicas: number;
  /** Local stack only: extra environment for every service (e.g. the tests' TEST_SERVICE_ENV: no shedding). */
  serviceEnv?: Record<string, string>;
  /** Default: the stack. Every other target needs a read-only scenario. */
  target?: LoadTarget;
  /** Todos to create before the run. */
  seedTodos: number;
  /** The run gets its own directory under this one. */
  resultsRoot: string;
  /** Environment for the script's __ENV (STUDIER_SLEEP, P95_MS, … for the scenarios). */
  overrides?: Record<string, string>;
  /** Show k6's own output (progress, summary) on the terminal. */
  echoK6: boolean;
  /** Receives a line per step, e.g. `k6: /root/go/bin/k6 (v1.8.1) ✓`. */
  progress: (line: string) => void;
  /** Stops the run: before k6 starts, nothing more starts; once it runs, k6 stops as on Ctrl-C. */
  abort?: AbortSignal;
}

export interface ThresholdResult {
  metric: string;
  expression: string;
  ok: boolean;
}

/** A run's headline figures, from k6's summary (whole run) and its per-second series. */
export interface RunFigures {
  p95Ms: number | undefined;
  requestsPerSecond: number | undefined;
  /** Shares, 0–1. */
  checksPassed: number | undefined;
  requestsFailed: number | undefined;
  maxVus: number | undefined;
  /** The scenario's p95 threshold, ms. */
  p95BoundMs: number | undefined;
  /** The VUs at which p95 went above the bound for good (vusWhereP95Crosses); undefined: it never did. */
  vusAtP95Crossing: number | undefined;
}

export interface LoadTestResult {
  target: RunTarget;
  passed: boolean;
  /** Why it failed, e.g. `thresholds breached: …`; undefined when it passed. */
  failure: string | undefined;
  k6: K6Binary;
  endpoint: string;
  runDir: string;
  files: {
    summaryText: string;
    summaryJson: string;
    report: string;
    plot: string | undefined;
    logs: string | undefined;
    /** The todos counted before and after the run (stack runs only). */
    todoCounts: string | undefined;
  };
  thresholds: ThresholdResult[];
  figures: RunFigures;
  /** The summary as k6's handleSummary wrote it. */
  summaryText: string;
  /** Set when k6's output was not echoed: what it printed last. */
  k6OutputTail: string[];
}

/**
 * What k6 runs: a built-in scenario at a scale, or the user's script through its entry module
 * (user-script.ts). `summaryBase` is the name of the summary files handleSummary writes.
 */
interface Workload {
  /** `planners-and-studiers at smoke scale`, `the script loadtests/k6/examples/practical.js`. */
  label: string;
  /** The file k6 runs. */
  entry: string;
  summaryBase: string;
  readOnly: boolean;
  /** The script's __ENV beside ENDPOINT and RESULTS_DIR. */
  env: Record<string, string>;
  /** Shown in the plot's title. */
  title: string;
}

/** One result per k6 run, in the order they ran: the ceilings first (RUNS). */
export async function runLoadTest(options: LoadTestOptions): Promise<LoadTestResult[]> {
  const k6 = findK6();
  options.progress(`k6: ${k6.path} (${k6.version}) ✓`);

  const loadTarget = options.target ?? 'stack';
  const runStartedAt = new Date();
  const scenario = SCENARIOS[options.scenario];
  const runName = options.script ? scriptRunName(options.script) : `${scenario.name}-${options.scale}`;
  const runDir = join(options.resultsRoot, `${timestamp(runStartedAt)}-${runName}`);
  const logDir = options.endpoint ? undefined : join(runDir, 'logs');
  const workload = options.script
    ? await scriptWorkload(k6, options.script, runDir, options)
    : {
        label: `${scenario.name} at ${options.scale} scale`,
        entry: scenario.script,
        summaryBase: runName,
        readOnly: scenario.readOnly,
        env: { ...options.overrides, SCALE: options.scale },
        title: `${scenario.name} · ${options.scale} scale`,
      };
  if (loadTarget !== 'stack' && !workload.readOnly) {
    throw new Error(
      `the ceiling answers every request with the list, so it runs read-only scenarios only (stress), not ${workload.label}`,
    );
  }
  // Fails fast, before anything starts, when nothing answers there.
  if (options.endpoint) options.progress(`endpoint: ${await requireReachable(options.endpoint)}`);

  let target: LocalTarget | undefined;
  let ceiling: CeilingTarget | undefined;
  let endpoint = options.endpoint;
  try {
    if (!endpoint) {
      const startedAt = Date.now();
      options.progress(
        'local stack: building (tsc -b) and starting (embedded PostgreSQL, Redis, todo-write, todo-read replicas, edge)…',
      );
      target = await startLocalTarget({
        ...(options.databaseUrl && { databaseUrl: options.databaseUrl }),
        ...(options.redisUrl && { redisUrl: options.redisUrl }),
        readReplicas: options.readReplicas,
        ...(options.serviceEnv && { serviceEnv: options.serviceEnv }),
        logDir: logDir!,
      });
      endpoint = target.url;
      options.progress(`local stack: ${endpoint} (${target.description}) ✓ ${since(startedAt)}`);
    }
    if (options.seedTodos > 0) {
      const startedAt = Date.now();
      await seedTodos(endpoint, options.seedTodos);
      options.progress(`seed: ${options.seedTodos} todos created ✓ ${since(startedAt)}`);
    }

    const results: LoadTestResult[] = [];
    for (const runTarget of RUNS[loadTarget]) {
      if (runTarget === 'stack') {
        results.push(await runK6Against('stack', endpoint, { options, workload, k6, runDir, logDir, runStartedAt }));
        continue;
      }
      const ceilingRunDir = `${runDir}-${runTarget}`;
      const ceilingLogDir = runTarget === 'balanced-ceiling' ? join(ceilingRunDir, 'logs') : undefined;
      ceiling = await startCeilingTarget(
        endpoint,
        ceilingLogDir ? { balanced: { servers: options.readReplicas, logDir: ceilingLogDir } } : {},
      );
      options.progress(
        `${runTarget}: ${ceiling.description} on ${ceiling.url}, sending ${endpoint}'s list (${ceiling.listBytes.toLocaleString('en-US')} bytes) ✓`,
      );
      results.push(
        await runK6Against(runTarget, ceiling.url, {
          options,
          workload,
          k6,
          runDir: ceilingRunDir,
          logDir: ceilingLogDir,
          runStartedAt,
        }),
      );
      await ceiling.stop();
      ceiling = undefined;
    }
    return results;
  } finally {
    await ceiling?.stop();
    if (target) {
      options.progress('local stack: stopping…');
      await target.stop();
      options.progress('local stack: stopped ✓');
    }
  }
}

/** The user's script: its entry module written into runDir and loaded once by k6 inspect (fails fast when it does not parse). */
async function scriptWorkload(
  k6: K6Binary,
  script: string,
  runDir: string,
  options: LoadTestOptions,
): Promise<Workload> {
  const k6Args = options.k6Args ?? [];
  await mkdir(runDir, { recursive: true });
  const entry = await writeEntryModule(script, runDir, [
    `script: ${script}`,
    ...(k6Args.length > 0 ? [`k6 flags: ${k6Args.join(' ')}`] : []),
  ]);
  const env = { ...options.overrides };
  // ENDPOINT is not known yet for the local stack: any base URL lets the init code run.
  await inspectScript(k6, entry, script, {
    ...env,
    ENDPOINT: options.endpoint ?? 'http://127.0.0.1:8080',
    RESULTS_DIR: runDir,
  });
  options.progress(`script: ${shown(script)} loads in k6 ✓ (entry module ${shown(entry)})`);
  return {
    label: `the script ${shown(script)}`,
    entry,
    summaryBase: scriptRunName(script),
    readOnly: false,
    env,
    title: scriptRunName(script),
  };
}

interface RunContext {
  options: LoadTestOptions;
  workload: Workload;
  k6: K6Binary;
  runDir: string;
  /** The local stack's or the balanced ceiling's log directory; undefined for the ceiling or an ENDPOINT. */
  logDir: string | undefined;
  runStartedAt: Date;
}

/** One k6 run of the workload against `endpoint`, its files in runDir. */
async function runK6Against(
  runTarget: RunTarget,
  endpoint: string,
  { options, workload, k6, runDir, logDir, runStartedAt }: RunContext,
): Promise<LoadTestResult> {
  await mkdir(runDir, { recursive: true });
  options.abort?.throwIfAborted();
  // What the run changes in the data: the todos there are before k6 starts and after it ends.
  const todoCounts = runTarget === 'stack' ? join(runDir, REPORT_INPUT_FILES.todoCounts) : undefined;
  const todosBefore = todoCounts ? await countTodos(endpoint) : undefined;
  options.progress(`k6: ${workload.label} against ${endpoint} (${runTarget}), results in ${shown(runDir)}`);
  const report = join(runDir, 'report.html');
  // CPU and memory of k6 and the system under test while k6 runs, for the bottleneck report.
  const sampler =
    runTarget === 'stack' ? new ProcessSampler() : new ProcessSampler(process.pid, undefined, isCeilingProcess);
  const outcome = await runK6({
    k6,
    script: workload.entry,
    args: options.k6Args ?? [],
    scenarioEnv: { ...workload.env, ENDPOINT: endpoint, RESULTS_DIR: runDir },
    reportPath: report,
    echo: options.echoK6,
    ...(options.abort && { abort: options.abort }),
  }).finally(() => writeFile(join(runDir, REPORT_INPUT_FILES.processSamples), JSON.stringify(sampler.stop())));
  if (todoCounts) {
    const counts: TodoCounts = { before: todosBefore, after: await countTodos(endpoint), countedVia: 'api' };
    await writeFile(todoCounts, JSON.stringify(counts));
    options.progress(`todos: ${counts.before ?? '?'} before the run, ${counts.after ?? '?'} after`);
  }

  const base = join(runDir, `${workload.summaryBase}-summary`);
  const files = {
    summaryText: `${base}.txt`,
    summaryJson: `${base}.json`,
    report,
    plot: undefined as string | undefined,
    logs: logDir,
    todoCounts,
  };
  const summary = await readSummary(files.summaryJson, files.summaryText);
  if (!summary) {
    const tail = outcome.outputTail.length > 0 ? `; its last output:\n  ${outcome.outputTail.join('\n  ')}` : '';
    throw new Error(
      `k6 wrote no summary of the ${runTarget} run (${outcome.meaning}, exit code ${outcome.exitCode})${tail}`,
    );
  }
  const p95BoundMs = p95TargetOf(summary.thresholds);
  const series = existsSync(report)
    ? await readDashboardSeries(report).catch((error: Error) => {
        // The verdict stands without the series: say why there is no plot rather than fail the run.
        options.progress(`plot: not written: ${error.message}`);
        return undefined;
      })
    : (options.progress('plot: not written: k6 exported no report (it does not when the run stops in setup)'),
      undefined);
  if (series) {
    const plotTitle = `${workload.title} · ${runTarget} · ${endpoint} · ${runStartedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
    files.plot = join(runDir, REPORT_INPUT_FILES.latencyPlot);
    await writeFile(join(runDir, REPORT_INPUT_FILES.k6Series), JSON.stringify(series));
    await writeFile(files.plot, renderLatencyPlot(series, { title: plotTitle, p95TargetMs: p95BoundMs }));
  }

  const breached = summary.thresholds.filter((threshold) => !threshold.ok);
  const failures = [
    // 99 is k6's "thresholds breached", listed below; any other code means the run itself went wrong.
    ...(outcome.exitCode !== 0 && outcome.exitCode !== K6_THRESHOLDS_BREACHED
      ? [`k6 failed: ${outcome.meaning} (exit code ${outcome.exitCode})`]
      : []),
    ...(breached.length > 0
      ? [
          `thresholds breached: ${breached.map((threshold) => `${threshold.metric} ${threshold.expression}`).join('; ')}`,
        ]
      : []),
  ];
  const failure = failures.length > 0 ? failures.join('; ') : undefined;
  return {
    target: runTarget,
    passed: failure === undefined,
    failure,
    k6,
    endpoint,
    runDir,
    files,
    thresholds: summary.thresholds,
    figures: { ...summary.figures, p95BoundMs, vusAtP95Crossing: crossing(series, p95BoundMs) },
    summaryText: summary.text,
    k6OutputTail: outcome.outputTail,
  };
}

function crossing(series: PeriodPoint[] | undefined, boundMs: number | undefined): number | undefined {
  return series && boundMs !== undefined ? vusWhereP95Crosses(series, boundMs) : undefined;
}

interface SummaryJson {
  metrics: Record<string, { values?: Record<string, number>; thresholds?: Record<string, { ok: boolean }> }>;
}

type SummaryFigures = Omit<RunFigures, 'p95BoundMs' | 'vusAtP95Crossing'>;

async function readSummary(
  jsonPath: string,
  textPath: string,
): Promise<{ thresholds: ThresholdResult[]; figures: SummaryFigures; text: string } | undefined> {
  let json: SummaryJson;
  try {
    json = JSON.parse(await readFile(jsonPath, 'utf8')) as SummaryJson;
  } catch {
    return undefined;
  }
  const thresholds = Object.entries(json.metrics).flatMap(([metric, { thresholds: byExpression }]) =>
    Object.entries(byExpression ?? {}).map(([expression, { ok }]) => ({ metric, expression, ok })),
  );
  const value = (metric: string, stat: string): number | undefined => json.metrics[metric]?.values?.[stat];
  const figures = {
    p95Ms: value('http_req_duration', 'p(95)'),
    requestsPerSecond: value('http_reqs', 'rate'),
    checksPassed: value('checks', 'rate'),
    requestsFailed: value('http_req_failed', 'rate'),
    maxVus: value('vus_max', 'max'),
  };
  return { thresholds, figures, text: await readFile(textPath, 'utf8') };
}

/** 2026-11-28T14-05-12: sorts by time, and is a valid file name everywhere. */
function timestamp(date: Date): string {
  return date.toISOString().slice(0, 19).replace(/:/g, '-');
}

/** A path relative to the working directory when it is inside it. */
export function shown(path: string): string {
  const fromHere = relative(process.cwd(), path);
  return fromHere.startsWith('..') ? path : fromHere;
}

function since(startedAt: number): string {
  return `(${((Date.now() - startedAt) / 1000).toFixed(1)} s)`;
}
