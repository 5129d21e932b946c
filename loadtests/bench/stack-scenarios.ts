/**
 * The scenarios that load several processes at once, each measured in two phases under the
 * same load generators, so that the second is compared with a baseline from the same run:
 *
 * - `stack`: one replica hit directly, then the whole stack through the load balancer (two
 *   replicas behind it). CPU per request of the load balancer, each replica, Redis,
 *   PostgreSQL and the load generator.
 * - `saturation`: one replica alone, then both replicas at once, each hit by a load generator
 *   of its own (a process each), past what two cores can serve. Does the read path stay on
 *   the cache when its processes are starved of CPU: the cache bypass share, PostgreSQL
 *   transactions and queries per 1000 reads, failed requests.
 *
 * Every generator runs in a process of its own (load-generator-worker.ts) with the bench's
 * --connections and --pipelining, warm-up first.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { LoadGenerator } from './load-generator.js';
import type { LoadResult } from './load-generator-worker.js';
import { round, type LoadSettings } from './measure.js';
import { lookupCount, type OutputCount, type OutputDrain } from './output-drain.js';
import type { PostgresCounters, PostgresStats } from './postgres-stats.js';
import { isRunning, readCpuSeconds } from '@taskoverflow/stack';
import type { RedisCounters, RedisStats } from './redis-stats.js';
import { LIST_PATH, type StackScenarioName } from './scenarios.js';
import { fetchPastLoadShedding } from '../lib/shed-retry.js';
import type { BenchServer, BenchStack } from './servers.js';

export interface StackMeasureContext {
  settings: LoadSettings;
  output: OutputDrain;
  redisStats: RedisStats;
  postgresStats: PostgresStats;
  progress: (text: string) => void;
  signal: AbortSignal;
}

/** One phase's figures: every generator's load summed, and what each process spent on it. */
export interface PhaseMeasurement {
  label: string;
  /** The servers the generators hit, one generator each. */
  targets: string[];
  /** Responses per second of all the generators together. */
  requestsPerSecond: number;
  responses: number;
  statusCounts: Record<string, number>;
  /** Connection errors, timeouts and answers other than 200 (shed 503s included). */
  failed: number;
  /** Per generator: its own p50/p99, in ms. */
  latencyMs: Array<{ target: string; p50: number; p99: number }>;
  /** Per process (instance name, `redis`, `postgres`, `load generators`): CPU in % of one core. */
  cpuPercent: Record<string, number | null>;
  /**
   * The same, as CPU time per response of the phase (all generators'), in µs: with two
   * replicas each serving half, each one's figure is half its cost per request it served, and
   * a phase's figures add up to what one request cost the machine.
   */
  cpuMicrosecondsPerRequest: Record<string, number | null>;
  /** The replicas' cache lookups, by outcome, from their canonical lines (none below `info`). */
  cacheOutcomes: Record<string, number>;
  /** Share of the lookups that went past the cache to PostgreSQL; null when none were logged. */
  cacheBypassShare: number | null;
  /** SQL statements the replicas ran (their canonical lines' db_queries), and per 1000 reads. */
  dbQueries: number;
  dbQueriesPer1000Reads: number | null;
  /** Transactions of the app database (pg_stat_database), and per 1000 reads. */
  dbTransactions: number;
  dbTransactionsPer1000Reads: number | null;
  measuredSeconds: number;
}

export interface StackScenarioResult {
  name: StackScenarioName;
  label: string;
  request: string;
  /** The baseline (one replica alone), then the phase under test. */
  phases: [PhaseMeasurement, PhaseMeasurement];
  /** Requests per second of the second phase ÷ the first's. */
  ratioToOneReplica: number | null;
}

interface Phase {
  label: string;
  targets: BenchServer[];
}

const LABELS: Record<StackScenarioName, { label: string; loaded: string }> = {
  stack: { label: 'stack (load balancer, 2 replicas)', loaded: 'through the load balancer' },
  saturation: { label: 'saturation (2 replicas, a generator each)', loaded: 'both replicas at once' },
};
const ALONE = 'one replica alone';
/** The replicas' last canonical lines are still in their pipes when the generators return. */
const SETTLE_MS = 250;
const LOAD_GENERATORS = 'load generators';

export async function measureStackScenario(
  name: StackScenarioName,
  stack: BenchStack,
  context: StackMeasureContext,
): Promise<StackScenarioResult> {
  const { label, loaded } = LABELS[name];
  const [first, second] = stack.replicas;
  const phases: [Phase, Phase] = [
    { label: ALONE, targets: [first] },
    { label: loaded, targets: name === 'stack' ? [stack.edge] : [first, second] },
  ];
  const generators = await Promise.all(phases[1].targets.map(() => LoadGenerator.start()));
  try {
    // Load every replica's cache before any load, so that each run measures hits from its start.
    for (const replica of stack.replicas)
      await (await fetchPastLoadShedding(`${replica.url}${LIST_PATH}`)).arrayBuffer();
    const measured: PhaseMeasurement[] = [];
    for (const phase of phases) {
      context.progress(`${label}, ${phase.label}: `);
      measured.push(await measurePhase(phase, stack, generators.slice(0, phase.targets.length), context));
    }
    const [alone, underTest] = measured as [PhaseMeasurement, PhaseMeasurement];
    return {
      name,
      label,
      request: `GET ${LIST_PATH}`,
      phases: [alone, underTest],
      ratioToOneReplica:
        alone.requestsPerSecond > 0 ? round(underTest.requestsPerSecond / alone.requestsPerSecond, 2) : null,
    };
  } finally {
    await Promise.all(generators.map((generator) => generator.stop()));
  }
}

/** Counters read just before and just after the measured run. */
interface Counters {
  wallSeconds: number;
  /** CPU seconds by process name. */
  cpuSeconds: Record<string, number | undefined>;
  redis: RedisCounters;
  postgres: PostgresCounters;
  output: Record<string, OutputCount>;
}

async function measurePhase(
  phase: Phase,
  stack: BenchStack,
  generators: LoadGenerator[],
  context: StackMeasureContext,
): Promise<PhaseMeasurement> {
  const { settings, progress, signal } = context;
  const runAll = (seconds: number): Promise<LoadResult[]> =>
    Promise.all(
      phase.targets.map((target, index) =>
        generators[index]!.run(
          {
            url: target.url,
            seconds,
            connections: settings.connections,
            pipelining: settings.pipelining,
            paths: [LIST_PATH],
          },
          signal,
        ),
      ),
    );
  if (settings.warmupSeconds > 0) {
    progress(`warming up ${settings.warmupSeconds} s… `);
    await runAll(settings.warmupSeconds);
    await sleep(SETTLE_MS);
  }
  progress(`measuring ${settings.durationSeconds} s… `);
  const processes = [stack.edge, ...stack.replicas];
  const read = async (): Promise<Counters> => {
    const [redis, postgres] = await Promise.all([context.redisStats.read(), context.postgresStats.read()]);
    const generatorSeconds = generators.map((generator) => readCpuSeconds(generator.pid));
    return {
      wallSeconds: performance.now() / 1000,
      cpuSeconds: {
        ...Object.fromEntries(processes.map((server) => [server.instance, readCpuSeconds(server.pid)])),
        [LOAD_GENERATORS]: generatorSeconds.some((seconds) => seconds === undefined)
          ? undefined
          : generatorSeconds.reduce((a, b) => a! + b!, 0),
      },
      redis,
      postgres,
      output: Object.fromEntries(processes.map((server) => [server.instance, context.output.count(server.instance)])),
    };
  };
  const before = await read();
  const results = await runAll(settings.durationSeconds);
  await sleep(SETTLE_MS);
  const after = await read();
  signal.throwIfAborted();
  for (const server of processes) {
    if (!isRunning(server.pid))
      throw new Error(
        `${server.instance} exited during the ${phase.label} run; its last output:\n  ${context.output.recentLines(server.instance).join('\n  ')}`,
      );
  }
  const measurement = summarize(phase, stack, results, before, after);
  progress(
    `${Math.round(measurement.requestsPerSecond).toLocaleString('en-US')} req/s, ${measurement.failed} failed\n`,
  );
  return measurement;
}

function summarize(
  phase: Phase,
  stack: BenchStack,
  results: LoadResult[],
  before: Counters,
  after: Counters,
): PhaseMeasurement {
  const responses = sum(results.map((result) => result.responses));
  const statusCounts: Record<string, number> = {};
  for (const result of results)
    for (const [status, count] of Object.entries(result.statusCounts))
      statusCounts[status] = (statusCounts[status] ?? 0) + count;
  const reads = statusCounts['200'] ?? 0;
  const wallSeconds = after.wallSeconds - before.wallSeconds;

  const cpuSeconds: Record<string, number | undefined> = {};
  for (const name of Object.keys(after.cpuSeconds))
    cpuSeconds[name] = difference(before.cpuSeconds[name], after.cpuSeconds[name]);
  cpuSeconds.redis = difference(before.redis.cpuSeconds, after.redis.cpuSeconds);
  cpuSeconds.postgres = difference(before.postgres.cpuSeconds, after.postgres.cpuSeconds);

  const cacheOutcomes: Record<string, number> = {};
  let dbQueries = 0;
  for (const replica of stack.replicas) {
    const [start, end] = [before.output[replica.instance]!, after.output[replica.instance]!];
    dbQueries += end.dbQueries - start.dbQueries;
    for (const [outcome, count] of Object.entries(end.cacheOutcomes)) {
      const delta = count - (start.cacheOutcomes[outcome] ?? 0);
      if (delta > 0) cacheOutcomes[outcome] = (cacheOutcomes[outcome] ?? 0) + delta;
    }
  }
  const lookups = lookupCount(cacheOutcomes);
  const dbTransactions = after.postgres.transactions - before.postgres.transactions;
  const per1000Reads = (count: number): number | null => (reads > 0 ? round((count / reads) * 1000, 2) : null);

  return {
    label: phase.label,
    targets: phase.targets.map((target) => target.instance),
    // Each generator's own rate, summed: they ran for the same seconds, side by side.
    requestsPerSecond: round(sum(results.map((result) => result.responses / result.seconds)), 1),
    responses,
    statusCounts,
    failed: responses - reads + sum(results.map((result) => result.errors + result.timeouts)),
    latencyMs: results.map((result, index) => ({ target: phase.targets[index]!.instance, ...result.latencyMs })),
    cpuPercent: mapValues(cpuSeconds, (seconds) =>
      seconds === undefined ? null : round((seconds / wallSeconds) * 100, 1),
    ),
    cpuMicrosecondsPerRequest: mapValues(cpuSeconds, (seconds) =>
      seconds === undefined || responses === 0 ? null : Math.round((seconds * 1e6) / responses),
    ),
    cacheOutcomes,
    cacheBypassShare: lookups > 0 ? round((cacheOutcomes.bypass ?? 0) / lookups, 4) : null,
    dbQueries,
    dbQueriesPer1000Reads: per1000Reads(dbQueries),
    dbTransactions,
    dbTransactionsPer1000Reads: per1000Reads(dbTransactions),
    measuredSeconds: round(wallSeconds, 2),
  };
}

function difference(start: number | undefined, end: number | undefined): number | undefined {
  return start === undefined || end === undefined ? undefined : end - start;
}

function mapValues<T, U>(record: Record<string, T>, map: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value)]));
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
