/**
 * Two load-test runs side by side, before and after a fix (`pnpm loadtest --compare A B`,
 * `pnpm trace --compare A B`). Each run's figures are computed again from its saved files by
 * the same code (a report written by an older version never makes one side look better), then
 * compared line by line: the figure in each run, the change as a ratio (B ÷ A) and which run is
 * better on it. Pure functions of the figures, apart from readComparedRun.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { RunNotFoundError } from '../errors.js';
import type { AwsFigures } from './aws-figures.js';
import type { Figures, ProcessFigures } from './figure-types.js';
import { collectFigures } from './figures.js';
import { formatMs, runTitle } from './format.js';
import { stackTotal } from './process-figures.js';
import { readReportInputs, type K6Summary } from './inputs.js';
import { collectOutcomes, isFailure, type Outcomes } from './outcomes.js';
import { verdictOf, type Verdict } from './verdict.js';

/** One side of the comparison. */
export interface ComparedRun {
  runDir: string;
  /** The run directory's name: `<time>-<scenario>-<scale>`. */
  name: string;
  figures: Figures;
  outcomes: Outcomes;
  verdict: Verdict;
  /** k6's whole-run figures that the report's own figures leave out. */
  k6: { requestsPerSecond: number | undefined; checksPassed: number | undefined; checksFailed: number | undefined };
}

/** In the order shown: whether it worked comes before how fast. */
export const COMPARISON_SECTIONS = [
  'failures',
  'latency',
  'throughput',
  'CPU per request',
  'peak memory',
  'cache',
  'AWS (CloudWatch)',
] as const;
export type ComparisonSection = (typeof COMPARISON_SECTIONS)[number];

export type Unit =
  'ms' | 'req/s' | 'count' | 'share' | 'percent' | 'µs' | 'MB' | 'VUs' | 'tasks' | 'IOPS' | 'per 1000 reads';

export interface ComparisonLine {
  section: ComparisonSection;
  name: string;
  unit: Unit;
  a: number | undefined;
  b: number | undefined;
  /** Which way is better; `neither` for a figure that describes the load (VUs, reads). */
  better: 'lower' | 'higher' | 'neither';
  /** B ÷ A; undefined when either is missing or A is 0. */
  ratio: number | undefined;
  /** The better run; `same` within SAME_WITHIN; undefined when it cannot be said. */
  winner: 'A' | 'B' | 'same' | undefined;
}

export interface Comparison {
  a: ComparedRunHeadline;
  b: ComparedRunHeadline;
  lines: ComparisonLine[];
  /** How many lines each run is better on, over all and per section (failures first). */
  tally: Tally;
  bySection: Array<{ section: ComparisonSection } & Tally>;
  /** Why the two runs may not be comparable (another scenario, scale, endpoint or load). */
  notes: string[];
}

export interface Tally {
  a: number;
  b: number;
  same: number;
}

export interface ComparedRunHeadline {
  name: string;
  runDir: string;
  /** `studiers-stress · local scale · http://127.0.0.1:8080` */
  title: string;
  verdict: Verdict;
}

/** Two figures within this share of each other are the same: run-to-run noise, not a change. */
export const SAME_WITHIN = 0.02;

/** Reads a run directory back and computes its figures and verdict, as `pnpm trace --report` does (without writing). */
export async function readComparedRun(runDir: string): Promise<ComparedRun> {
  if (!existsSync(runDir)) throw new RunNotFoundError(runDir, 'no such directory');
  const inputs = await readReportInputs(runDir);
  if (!inputs.k6Summary && !inputs.logs && !inputs.processes)
    throw new RunNotFoundError(runDir, 'no k6 summary, logs or process samples in it');
  const figures = await collectFigures(inputs, () => []);
  const outcomes = await collectOutcomes(inputs);
  return {
    runDir,
    name: basename(runDir),
    figures,
    outcomes,
    verdict: verdictOf(figures, outcomes),
    k6: k6Figures(inputs.k6Summary),
  };
}

function k6Figures(summary: K6Summary | undefined): ComparedRun['k6'] {
  const checks = summary?.metrics.checks?.values;
  return {
    requestsPerSecond: summary?.metrics.http_reqs?.values?.rate,
    checksPassed: checks?.rate,
    checksFailed: checks?.fails,
  };
}

/** The two runs line by line; B is the one after the change. */
export function compareRuns(a: ComparedRun, b: ComparedRun): Comparison {
  const lines = [
    ...failureLines(a, b),
    ...latencyLines(a, b),
    ...throughputLines(a, b),
    ...processLines(a, b, 'CPU per request', 'µs', (process) => process.cpuPerRequestUs),
    ...processLines(a, b, 'peak memory', 'MB', (process) => process.peakRssMb),
    ...cacheLines(a, b),
    ...awsLines(a, b),
  ];
  const bySection = COMPARISON_SECTIONS.map((section) => ({
    section,
    ...tallyOf(lines.filter((line) => line.section === section)),
  })).filter((tally) => tally.a + tally.b + tally.same > 0);
  return { a: headline(a), b: headline(b), lines, tally: tallyOf(lines), bySection, notes: comparabilityNotes(a, b) };
}

function tallyOf(lines: ComparisonLine[]): Tally {
  return {
    a: lines.filter((line) => line.winner === 'A').length,
    b: lines.filter((line) => line.winner === 'B').length,
    same: lines.filter((line) => line.winner === 'same').length,
  };
}

/** `failures: B better on 6, the same on 1; latency: A better on 6; …`: where each run did better. */
export function formatTally(comparison: Comparison): string {
  const parts = comparison.bySection.map(({ section, a, b, same }) => {
    const counts = (
      [
        ['B', b],
        ['A', a],
      ] as const
    )
      .filter(([, count]) => count > 0)
      .sort((x, y) => y[1] - x[1])
      .map(([run, count], index) => `${run}${index === 0 ? ' better' : ''} on ${count}`);
    return `${section}: ${[...counts, ...(same > 0 ? [`the same on ${same}`] : [])].join(', ')}`;
  });
  return `${parts.join('; ')} (lines within ${Math.round(SAME_WITHIN * 100)} % of each other count as the same).`;
}

/** One line: the ratio and the better run follow from the two figures and the direction alone. */
export function comparisonLine(
  section: ComparisonSection,
  name: string,
  unit: Unit,
  better: ComparisonLine['better'],
  a: number | undefined,
  b: number | undefined,
): ComparisonLine {
  const ratio = a !== undefined && b !== undefined && a !== 0 ? b / a : undefined;
  return { section, name, unit, a, b, better, ratio, winner: winnerOf(better, a, b, ratio) };
}

function winnerOf(
  better: ComparisonLine['better'],
  a: number | undefined,
  b: number | undefined,
  ratio: number | undefined,
): ComparisonLine['winner'] {
  if (better === 'neither' || a === undefined || b === undefined) return undefined;
  if (a === b || (ratio !== undefined && Math.abs(ratio - 1) <= SAME_WITHIN)) return 'same';
  return b < a === (better === 'lower') ? 'B' : 'A';
}

function headline(run: ComparedRun): ComparedRunHeadline {
  return {
    name: run.name,
    runDir: run.runDir,
    title: runTitle(run.figures.run),
    verdict: run.verdict,
  };
}

const ALL_REQUESTS = 'all requests';

function latencyLines(a: ComparedRun, b: ComparedRun): ComparisonLine[] {
  // k6's groups (all requests first, then each scenario's and endpoint's its thresholds made), the edge's and the services'.
  const groups = unique([...a.figures.client, ...b.figures.client].map((group) => group.name)).sort(
    (x, y) => Number(y === ALL_REQUESTS) - Number(x === ALL_REQUESTS),
  );
  const client = (run: ComparedRun, name: string) => run.figures.client.find((group) => group.name === name);
  return [
    ...groups.flatMap((group) => {
      const label = group === ALL_REQUESTS ? 'k6' : `k6 ${group}`;
      return [
        comparisonLine('latency', `${label} p95`, 'ms', 'lower', client(a, group)?.p95Ms, client(b, group)?.p95Ms),
        comparisonLine('latency', `${label} p99`, 'ms', 'lower', client(a, group)?.p99Ms, client(b, group)?.p99Ms),
      ];
    }),
    comparisonLine('latency', 'edge p95', 'ms', 'lower', a.figures.edge?.p95Ms, b.figures.edge?.p95Ms),
    comparisonLine('latency', 'edge p99', 'ms', 'lower', a.figures.edge?.p99Ms, b.figures.edge?.p99Ms),
    comparisonLine('latency', 'services p95', 'ms', 'lower', a.figures.services?.p95Ms, b.figures.services?.p95Ms),
    comparisonLine('latency', 'services p99', 'ms', 'lower', a.figures.services?.p99Ms, b.figures.services?.p99Ms),
  ].filter(present);
}

function throughputLines(a: ComparedRun, b: ComparedRun): ComparisonLine[] {
  return [
    comparisonLine(
      'throughput',
      'req/s (k6, whole run)',
      'req/s',
      'higher',
      a.k6.requestsPerSecond,
      b.k6.requestsPerSecond,
    ),
    comparisonLine(
      'throughput',
      'req/s at the peak (3 s)',
      'req/s',
      'higher',
      a.figures.throughput?.peakRps,
      b.figures.throughput?.peakRps,
    ),
    comparisonLine('throughput', 'peak VUs', 'VUs', 'neither', a.figures.run.peakVus, b.figures.run.peakVus),
  ].filter(present);
}

function failureLines(a: ComparedRun, b: ComparedRun): ComparisonLine[] {
  const failed = (run: ComparedRun) => run.figures.failures.client?.failed;
  const failedShare = (run: ComparedRun) => {
    const client = run.figures.failures.client;
    return client && client.requests > 0 ? client.failed / client.requests : undefined;
  };
  return [
    comparisonLine('failures', 'failed requests', 'count', 'lower', failed(a), failed(b)),
    comparisonLine('failures', 'failed requests, share', 'share', 'lower', failedShare(a), failedShare(b)),
    comparisonLine('failures', 'checks passed', 'share', 'higher', a.k6.checksPassed, b.k6.checksPassed),
    comparisonLine('failures', 'checks failed', 'count', 'lower', a.k6.checksFailed, b.k6.checksFailed),
    ...checkLines(a, b),
    ...failedRequestLines(a, b),
    comparisonLine(
      'failures',
      'todos the run left behind (after − before)',
      'count',
      'neither',
      todosLeft(a),
      todosLeft(b),
    ),
  ].filter(present);
}

/** Each check of either run by name, with its pass rate: a fixed check goes from 0 % to 100 %. */
function checkLines(a: ComparedRun, b: ComparedRun): ComparisonLine[] {
  const names = unique([...(a.outcomes.checks ?? []), ...(b.outcomes.checks ?? [])].map((check) => check.name));
  const rate = (run: ComparedRun, name: string) => {
    if (!run.outcomes.checks) return undefined;
    return run.outcomes.checks.find((check) => check.name === name)?.passRate;
  };
  return names.map((name) =>
    comparisonLine('failures', `check “${name}” passed`, 'share', 'higher', rate(a, name), rate(b, name)),
  );
}

/**
 * Failed requests of either run by method, path and status (`DELETE /api/v1/todos/undefined →
 * 404`): 0 in a run whose logs have none of them, unknown in one without logs.
 */
function failedRequestLines(a: ComparedRun, b: ComparedRun): ComparisonLine[] {
  const key = (group: Outcomes['requests'][number]) => `${group.method} ${group.path} → ${group.status}`;
  const failed = (run: ComparedRun) => run.outcomes.requests.filter(isFailure);
  const count = (run: ComparedRun, name: string) =>
    run.outcomes.requests.length === 0
      ? undefined
      : failed(run)
          .filter((group) => key(group) === name)
          .reduce((sum, group) => sum + group.count, 0);
  return unique([...failed(a), ...failed(b)].map(key)).map((name) =>
    comparisonLine('failures', `failed: ${name}`, 'count', 'lower', count(a, name), count(b, name)),
  );
}

function todosLeft(run: ComparedRun): number | undefined {
  const todos = run.outcomes.todos;
  return todos?.before !== undefined && todos.after !== undefined ? todos.after - todos.before : undefined;
}

/**
 * A line per process of either run (the load test's own helpers, such as esbuild, left out),
 * the stack's processes together first.
 */
function processLines(
  a: ComparedRun,
  b: ComparedRun,
  section: 'CPU per request' | 'peak memory',
  unit: Unit,
  figure: (process: ProcessFigures) => number | undefined,
): ComparisonLine[] {
  const shown = (run: ComparedRun) => run.figures.processes.list.filter((process) => process.kind !== 'other');
  const names = unique([...shown(a), ...shown(b)].map((process) => process.name));
  const of = (run: ComparedRun, name: string) => {
    const process = run.figures.processes.list.find((candidate) => candidate.name === name);
    return process && figure(process);
  };
  const stack = (run: ComparedRun) => stackTotal(run.figures.processes.list, figure);
  return [
    comparisonLine(section, 'the stack (edge, replicas, Redis, PostgreSQL)', unit, 'lower', stack(a), stack(b)),
    ...names.map((name) => comparisonLine(section, name, unit, 'lower', of(a, name), of(b, name))),
  ].filter(present);
}

function cacheLines(a: ComparedRun, b: ComparedRun): ComparisonLine[] {
  const share = (run: ComparedRun, outcome: keyof Figures['readPath']['cache']) => {
    const { reads, cache } = run.figures.readPath;
    return reads > 0 ? cache[outcome] / reads : undefined;
  };
  const outcomes = [
    ['hit', 'higher', 'reads answered from the cache (hit)'],
    ['stale', 'lower', 'stale (served while refreshed)'],
    ['miss', 'lower', 'missed'],
    ['bypass', 'lower', 'bypassed (Redis unusable)'],
    ['none', 'lower', 'no cache looked at'],
  ] as const;
  const readsOf = (run: ComparedRun) => (run.figures.readPath.reads > 0 ? run.figures.readPath.reads : undefined);
  return [
    comparisonLine('cache', 'reads', 'count', 'neither', readsOf(a), readsOf(b)),
    ...outcomes
      .filter(([outcome]) => (share(a, outcome) ?? 0) > 0 || (share(b, outcome) ?? 0) > 0)
      .map(([outcome, better, name]) =>
        comparisonLine('cache', name, 'share', better, share(a, outcome), share(b, outcome)),
      ),
    comparisonLine(
      'cache',
      'queries',
      'per 1000 reads',
      'lower',
      a.figures.readPath.queriesPer1000Reads,
      b.figures.readPath.queriesPer1000Reads,
    ),
  ].filter(present);
}

const AWS = 'AWS (CloudWatch)';

/**
 * A run against AWS: per ECS service its CPU and memory (the busiest minute: a bigger or an
 * extra task shows there), its tasks, its target group's response time and 5xx; the load
 * balancer's own errors; RDS; ElastiCache.
 */
function awsLines(a: ComparedRun, b: ComparedRun): ComparisonLine[] {
  const [awsA, awsB] = [a.figures.aws, b.figures.aws];
  if (!awsA && !awsB) return [];
  const services = unique([...(awsA?.services ?? []), ...(awsB?.services ?? [])].map((service) => service.service));
  const line = (
    name: string,
    unit: Unit,
    better: ComparisonLine['better'],
    figure: (aws: AwsFigures) => number | undefined,
  ) => comparisonLine(AWS, name, unit, better, awsA && figure(awsA), awsB && figure(awsB));
  const of = (aws: AwsFigures, service: string) => aws.services.find((candidate) => candidate.service === service);
  return [
    ...services.flatMap((service) => [
      line(`${service} CPU, average`, 'percent', 'lower', (aws) => of(aws, service)?.cpu?.averagePercent),
      line(`${service} CPU, busiest minute`, 'percent', 'lower', (aws) => of(aws, service)?.cpu?.peakMinutePercent),
      line(
        `${service} memory, busiest minute`,
        'percent',
        'lower',
        (aws) => of(aws, service)?.memory?.peakMinutePercent,
      ),
      line(`${service} tasks at the peak`, 'tasks', 'neither', (aws) => of(aws, service)?.tasks?.peak),
      line(
        `${service} response time at the ALB, average`,
        'ms',
        'lower',
        (aws) => of(aws, service)?.targetGroup?.responseTimeAverageMs,
      ),
      line(`${service} 5xx from its tasks`, 'count', 'lower', (aws) => of(aws, service)?.targetGroup?.target5xx),
    ]),
    line('load balancer requests', 'count', 'neither', (aws) => aws.loadBalancer?.requests),
    line("load balancer's own 5xx", 'count', 'lower', (aws) => aws.loadBalancer?.elb5xx),
    line('load balancer rejected connections', 'count', 'lower', (aws) => aws.loadBalancer?.rejectedConnections),
    line('RDS CPU, busiest minute', 'percent', 'lower', (aws) => aws.database?.cpu?.peakMinutePercent),
    line('RDS connections at the peak', 'count', 'neither', (aws) => aws.database?.connectionsPeak),
    line('RDS read IOPS, average', 'IOPS', 'neither', (aws) => aws.database?.readIops?.average),
    line('RDS write IOPS, average', 'IOPS', 'neither', (aws) => aws.database?.writeIops?.average),
    line(
      'ElastiCache engine CPU, busiest minute',
      'percent',
      'lower',
      (aws) => aws.cache?.engineCpu?.peakMinutePercent,
    ),
    line('ElastiCache evictions', 'count', 'lower', (aws) => aws.cache?.evictions),
  ].filter(present);
}

/** What makes the runs' figures differ besides the change under test. */
function comparabilityNotes(runA: ComparedRun, runB: ComparedRun): string[] {
  const [a, b] = [runA.figures, runB.figures];
  const notes: string[] = [];
  const differs = (what: string, x: string | number | undefined, y: string | number | undefined) => {
    if (x !== undefined && y !== undefined && x !== y) notes.push(`${what} differs: A ${x}, B ${y}`);
  };
  differs('the scenario', a.run.name, b.run.name);
  differs('the scale', a.run.scale, b.run.scale);
  differs('the endpoint', hostOf(a.run.endpoint), hostOf(b.run.endpoint));
  differs('the balancer (edge)', a.run.balancer, b.run.balancer);
  differs('the peak VU count', a.run.peakVus, b.run.peakVus);
  differs("the machine's cores", a.processes.cores, b.processes.cores);
  for (const [label, run] of [
    ['A', runA],
    ['B', runB],
  ] as const) {
    if (run.verdict.findings.some((finding) => finding.rule === 'machine busy with other work')) {
      notes.push(`${label} ran on a machine busy with other work: its latency says less than its CPU per request`);
    }
  }
  return notes;
}

/** The local stack listens on a new port each run: only the host says whether the target changed. */
function hostOf(endpoint: string | undefined): string | undefined {
  if (endpoint === undefined) return undefined;
  try {
    const url = new URL(endpoint);
    return url.hostname === '127.0.0.1' || url.hostname === 'localhost' ? 'the local stack' : url.host;
  } catch {
    return endpoint;
  }
}

/** Keeps a line that at least one run has a figure for. */
function present(line: ComparisonLine): boolean {
  return line.a !== undefined || line.b !== undefined;
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

/** A figure of a line as the terminal and the page show it; `—` for one the run does not have. */
export function formatFigure(unit: Unit, value: number | undefined): string {
  if (value === undefined) return '—';
  switch (unit) {
    case 'ms':
      return formatMs(value);
    case 'share':
      return `${(value * 100).toFixed(value === 0 || value === 1 ? 0 : 1)} %`;
    case 'req/s':
      return value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US');
    case 'per 1000 reads':
      return value.toFixed(1);
    case 'percent':
      return `${value.toFixed(1)} %`;
    case 'IOPS':
      return `${value.toFixed(value < 10 ? 1 : 0)} IOPS`;
    case 'µs':
    case 'MB':
      return `${Math.round(value).toLocaleString('en-US')} ${unit}`;
    default:
      return Math.round(value).toLocaleString('en-US');
  }
}

/** B ÷ A as `0.42×`; `—` when it cannot be taken (a figure missing, or A's 0). */
export function formatRatio(ratio: number | undefined): string {
  if (ratio === undefined) return '—';
  return `${ratio >= 10 ? Math.round(ratio) : ratio >= 0.1 || ratio === 0 ? ratio.toFixed(2) : ratio.toPrecision(2)}×`;
}

/** Who is better on a line, in words a table cell can hold. */
export function formatWinner(line: ComparisonLine): string {
  if (line.winner === undefined) return '';
  return line.winner === 'same' ? 'same' : `${line.winner} better`;
}
