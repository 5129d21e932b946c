/**
 * One load test: find k6, start the local stack unless an endpoint is given, seed it, run the
 * scenario against the stack, k6's floor (a bare node:http server sending the same list), or
 * both in turn, then turn k6's output into a verdict, figures and a latency-over-time plot per
 * run. Used by `pnpm loadtest` and by the test that runs the smoke scale in CI.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  p95TargetOf,
  readDashboardSeries,
  renderLatencyPlot,
  REPORT_INPUT_FILES,
  vusWhereP95Crosses,
  type PeriodPoint,
} from '@taskoverflow/trace';
import { startCeilingTarget, type CeilingTarget } from './ceiling-target.js';
import { findK6, type K6Binary } from './k6-binary.js';
import { K6_THRESHOLDS_BREACHED, runK6 } from './k6-run.js';
import { startLocalTarget, type LocalTarget } from './local-target.js';
import { ProcessSampler } from './process-sampler.js';
import { seedTodos } from './seed.js';

export const SCALES = ['smoke', 'local', 'full'] as const;
export type Scale = (typeof SCALES)[number];

const K6_DIR = fileURLToPath(new URL('../k6/', import.meta.url));
export const DEFAULT_RESULTS_ROOT = fileURLToPath(new URL('../results/', import.meta.url));

/**
 * The scenarios, by the name `--scenario` takes; `name` is what the script calls its run.
 * `readOnly`: it only lists todos, so k6's floor (a server answering every request with the
 * list) can run it too; the planners' writes have no such stand-in.
 */
export const SCENARIOS = {
  'planners-and-studiers': { script: join(K6_DIR, 'planners-and-studiers.js'), name: 'planners-and-studiers', readOnly: false },
  stress: { script: join(K6_DIR, 'studiers-stress.js'), name: 'studiers-stress', readOnly: true },
} as const;
export type ScenarioName = keyof typeof SCENARIOS;

/** What k6 runs against: the stack, k6's floor (the ceiling server), or both, the floor first. */
export const LOAD_TARGETS = ['stack', 'ceiling', 'both'] as const;
export type LoadTarget = (typeof LOAD_TARGETS)[number];
/** What one k6 run was pointed at. */
export type RunTarget = Exclude<LoadTarget, 'both'>;

export interface LoadTestOptions {
  scenario: ScenarioName;
  scale: Scale;
  /** The system under test; unset: start the local stack. */
  endpoint: string | undefined;
  /** Local stack only: use this database / Redis instead of throwaway ones. */
  databaseUrl?: string;
  redisUrl?: string;
  readReplicas: number;
  /** Local stack only: extra environment for every service (e.g. the tests' TEST_SERVICE_ENV: no shedding). */
  serviceEnv?: Record<string, string>;
  /** Default: the stack. `ceiling` and `both` need a read-only scenario. */
  target?: LoadTarget;
  /** Todos to create before the run. */
  seedTodos: number;
  /** The run gets its own directory under this one. */
  resultsRoot: string;
  /** Scenario overrides passed to k6 (STUDIER_SLEEP, P95_MS, …). */
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
  files: { summaryText: string; summaryJson: string; report: string; plot: string | undefined; logs: string | undefined };
  thresholds: ThresholdResult[];
  figures: RunFigures;
  /** The summary as k6's handleSummary wrote it. */
  summaryText: string;
  /** Set when k6's output was not echoed: what it printed last. */
  k6OutputTail: string[];
}

/** One result per k6 run, in the order they ran: the floor first with `both`. */
export async function runLoadTest(options: LoadTestOptions): Promise<LoadTestResult[]> {
  const k6 = findK6();
  options.progress(`k6: ${k6.path} (${k6.version}) ✓`);

  const scenario = SCENARIOS[options.scenario];
  const loadTarget = options.target ?? 'stack';
  if (loadTarget !== 'stack' && !scenario.readOnly) {
    throw new Error(`k6's floor answers every request with the list, so it runs read-only scenarios only (stress), not ${options.scenario}`);
  }
  const runStartedAt = new Date();
  const runDir = join(options.resultsRoot, `${timestamp(runStartedAt)}-${scenario.name}-${options.scale}`);
  const logDir = options.endpoint ? undefined : join(runDir, 'logs');

  let target: LocalTarget | undefined;
  let ceiling: CeilingTarget | undefined;
  let endpoint = options.endpoint;
  try {
    if (!endpoint) {
      const startedAt = Date.now();
      options.progress('local stack: building (tsc -b) and starting (embedded PostgreSQL, Redis, todo-write, todo-read replicas, edge)…');
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
    if (loadTarget !== 'stack') {
      ceiling = await startCeilingTarget(endpoint);
      options.progress(
        `ceiling: bare node:http on ${ceiling.url}, sending ${endpoint}'s list (${ceiling.listBytes.toLocaleString('en-US')} bytes) ✓`,
      );
      results.push(await runK6Against('ceiling', ceiling.url, { options, k6, runDir: `${runDir}-ceiling`, logDir: undefined, runStartedAt }));
      await ceiling.stop();
      ceiling = undefined;
    }
    if (loadTarget !== 'ceiling') results.push(await runK6Against('stack', endpoint, { options, k6, runDir, logDir, runStartedAt }));
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

interface RunContext {
  options: LoadTestOptions;
  k6: K6Binary;
  runDir: string;
  /** The local stack's log directory; undefined for the floor or an ENDPOINT. */
  logDir: string | undefined;
  runStartedAt: Date;
}

/** One k6 run of the scenario against `endpoint`, its files in runDir. */
async function runK6Against(
  runTarget: RunTarget,
  endpoint: string,
  { options, k6, runDir, logDir, runStartedAt }: RunContext,
): Promise<LoadTestResult> {
  const scenario = SCENARIOS[options.scenario];
  await mkdir(runDir, { recursive: true });
  options.abort?.throwIfAborted();
  options.progress(`k6: ${scenario.name} at ${options.scale} scale against ${endpoint} (${runTarget}), results in ${shown(runDir)}`);
  const report = join(runDir, 'report.html');
  // CPU and memory of k6 and the stack while k6 runs, for the bottleneck report.
  const sampler = new ProcessSampler();
  const outcome = await runK6({
    k6,
    script: scenario.script,
    scenarioEnv: { ...options.overrides, ENDPOINT: endpoint, SCALE: options.scale, RESULTS_DIR: runDir },
    reportPath: report,
    echo: options.echoK6,
    ...(options.abort && { abort: options.abort }),
  }).finally(() => writeFile(join(runDir, REPORT_INPUT_FILES.processSamples), JSON.stringify(sampler.stop())));

  const base = join(runDir, `${scenario.name}-${options.scale}-summary`);
  const files = { summaryText: `${base}.txt`, summaryJson: `${base}.json`, report, plot: undefined as string | undefined, logs: logDir };
  const summary = await readSummary(files.summaryJson, files.summaryText);
  if (!summary) {
    const tail = outcome.outputTail.length > 0 ? `; its last output:\n  ${outcome.outputTail.join('\n  ')}` : '';
    throw new Error(`k6 wrote no summary of the ${runTarget} run (${outcome.meaning}, exit code ${outcome.exitCode})${tail}`);
  }
  const p95BoundMs = p95TargetOf(summary.thresholds);
  const series = existsSync(report)
    ? await readDashboardSeries(report).catch((error: Error) => {
        // The verdict stands without the series: say why there is no plot rather than fail the run.
        options.progress(`plot: not written: ${error.message}`);
        return undefined;
      })
    : (options.progress('plot: not written: k6 exported no report (it does not when the run stops in setup)'), undefined);
  if (series) {
    const plotTitle = `${scenario.name} · ${options.scale} scale · ${runTarget} · ${endpoint} · ${runStartedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
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
      ? [`thresholds breached: ${breached.map((threshold) => `${threshold.metric} ${threshold.expression}`).join('; ')}`]
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
