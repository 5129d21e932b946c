/**
 * One load-test run: find k6, start the local stack unless an endpoint is given, seed it,
 * run the scenario, then turn k6's output into a verdict and a latency-over-time plot. Used
 * by `pnpm loadtest` and by the test that runs the smoke scale in CI.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDashboardSeries } from './dashboard-data.js';
import { findK6, type K6Binary } from './k6-binary.js';
import { K6_THRESHOLDS_BREACHED, runK6 } from './k6-run.js';
import { renderLatencyPlot } from './latency-plot.js';
import { startLocalTarget, type LocalTarget } from './local-target.js';
import { seedTodos } from './seed.js';

export const SCALES = ['smoke', 'local', 'full'] as const;
export type Scale = (typeof SCALES)[number];

const K6_DIR = fileURLToPath(new URL('../k6/', import.meta.url));
export const DEFAULT_RESULTS_ROOT = fileURLToPath(new URL('../results/', import.meta.url));

/** The scenarios, by the name `--scenario` takes; `name` is what the script calls its run. */
export const SCENARIOS = {
  'planners-and-studiers': { script: join(K6_DIR, 'planners-and-studiers.js'), name: 'planners-and-studiers' },
  stress: { script: join(K6_DIR, 'studiers-stress.js'), name: 'studiers-stress' },
} as const;
export type ScenarioName = keyof typeof SCENARIOS;

export interface LoadTestOptions {
  scenario: ScenarioName;
  scale: Scale;
  /** The system under test; unset: start the local stack. */
  endpoint: string | undefined;
  /** Local stack only: use this database / Redis instead of throwaway ones. */
  databaseUrl?: string;
  redisUrl?: string;
  readReplicas: number;
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

export interface LoadTestResult {
  passed: boolean;
  /** Why it failed, e.g. `thresholds breached: …`; undefined when it passed. */
  failure: string | undefined;
  k6: K6Binary;
  endpoint: string;
  runDir: string;
  files: { summaryText: string; summaryJson: string; report: string; plot: string | undefined; logs: string | undefined };
  thresholds: ThresholdResult[];
  /** The summary as k6's handleSummary wrote it. */
  summaryText: string;
  /** Set when k6's output was not echoed: what it printed last. */
  k6OutputTail: string[];
}

export async function runLoadTest(options: LoadTestOptions): Promise<LoadTestResult> {
  const k6 = findK6();
  options.progress(`k6: ${k6.path} (${k6.version}) ✓`);

  const scenario = SCENARIOS[options.scenario];
  const runStartedAt = new Date();
  const runDir = join(options.resultsRoot, `${timestamp(runStartedAt)}-${scenario.name}-${options.scale}`);
  const logDir = options.endpoint ? undefined : join(runDir, 'logs');
  await mkdir(runDir, { recursive: true });

  let target: LocalTarget | undefined;
  let endpoint = options.endpoint;
  try {
    if (!endpoint) {
      const startedAt = Date.now();
      options.progress('local stack: building (tsc -b) and starting (embedded PostgreSQL, Redis, todo-write, todo-read replicas, edge)…');
      target = await startLocalTarget({
        ...(options.databaseUrl && { databaseUrl: options.databaseUrl }),
        ...(options.redisUrl && { redisUrl: options.redisUrl }),
        readReplicas: options.readReplicas,
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

    options.abort?.throwIfAborted();
    options.progress(`k6: ${scenario.name} at ${options.scale} scale against ${endpoint}, results in ${shown(runDir)}`);
    const report = join(runDir, 'report.html');
    const outcome = await runK6({
      k6,
      script: scenario.script,
      scenarioEnv: { ...options.overrides, ENDPOINT: endpoint, SCALE: options.scale, RESULTS_DIR: runDir },
      reportPath: report,
      echo: options.echoK6,
      ...(options.abort && { abort: options.abort }),
    });

    const base = join(runDir, `${scenario.name}-${options.scale}-summary`);
    const files = { summaryText: `${base}.txt`, summaryJson: `${base}.json`, report, plot: undefined as string | undefined, logs: logDir };
    const summary = await readSummary(files.summaryJson, files.summaryText);
    if (!summary) {
      const tail = outcome.outputTail.length > 0 ? `; its last output:\n  ${outcome.outputTail.join('\n  ')}` : '';
      throw new Error(`k6 wrote no summary (${outcome.meaning}, exit code ${outcome.exitCode})${tail}`);
    }
    const plotTitle = `${scenario.name} · ${options.scale} scale · ${endpoint} · ${runStartedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
    files.plot = await writePlot(report, join(runDir, 'latency.svg'), plotTitle, summary.thresholds).catch((error: Error) => {
      // The verdict stands without the plot: say why there is none rather than fail the run.
      options.progress(`plot: not written: ${error.message}`);
      return undefined;
    });

    const breached = summary.thresholds.filter((threshold) => !threshold.ok);
    const failures = [
      // 99 is k6's "thresholds breached", listed below; any other code means the run itself went wrong.
      ...(outcome.exitCode !== 0 && outcome.exitCode !== K6_THRESHOLDS_BREACHED ? [`k6 failed: ${outcome.meaning} (exit code ${outcome.exitCode})`] : []),
      ...(breached.length > 0 ? [`thresholds breached: ${breached.map((threshold) => `${threshold.metric} ${threshold.expression}`).join('; ')}`] : []),
    ];
    const failure = failures.length > 0 ? failures.join('; ') : undefined;
    return {
      passed: failure === undefined,
      failure,
      k6,
      endpoint,
      runDir,
      files,
      thresholds: summary.thresholds,
      summaryText: summary.text,
      k6OutputTail: outcome.outputTail,
    };
  } finally {
    if (target) {
      options.progress('local stack: stopping…');
      await target.stop();
      options.progress('local stack: stopped ✓');
    }
  }
}

interface SummaryJson {
  metrics: Record<string, { thresholds?: Record<string, { ok: boolean }> }>;
}

async function readSummary(jsonPath: string, textPath: string): Promise<{ thresholds: ThresholdResult[]; text: string } | undefined> {
  let json: SummaryJson;
  try {
    json = JSON.parse(await readFile(jsonPath, 'utf8')) as SummaryJson;
  } catch {
    return undefined;
  }
  const thresholds = Object.entries(json.metrics).flatMap(([metric, { thresholds: byExpression }]) =>
    Object.entries(byExpression ?? {}).map(([expression, { ok }]) => ({ metric, expression, ok })),
  );
  return { thresholds, text: await readFile(textPath, 'utf8') };
}

/** The latency-over-time plot of the data in k6's report; returns its path. */
async function writePlot(reportPath: string, plotPath: string, title: string, thresholds: ThresholdResult[]): Promise<string> {
  if (!existsSync(reportPath)) throw new Error('k6 exported no report (it does not when the run stops in setup)');
  const series = await readDashboardSeries(reportPath);
  await writeFile(plotPath, renderLatencyPlot(series, { title, p95TargetMs: p95Target(thresholds) }));
  return plotPath;
}

/** The tightest `p(95)<N` threshold on request duration, for the plot's target line. */
function p95Target(thresholds: ThresholdResult[]): number | undefined {
  const targets = thresholds
    .filter((threshold) => threshold.metric.startsWith('http_req_duration'))
    .map((threshold) => /^p\(95\)\s*<=?\s*(\d+(\.\d+)?)$/.exec(threshold.expression)?.[1])
    .filter((value): value is string => value !== undefined)
    .map(Number);
  return targets.length > 0 ? Math.min(...targets) : undefined;
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
