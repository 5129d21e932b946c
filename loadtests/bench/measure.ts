/** One scenario: a warm-up, then a measured autocannon run, and what it cost each process. */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { lookupCount, type OutputCount, type OutputDrain } from './output-drain.js';
import { isRunning, PeakRssSampler, readCpuSeconds, readMachineBusySeconds } from '@taskoverflow/stack';
import type { RedisCounters, RedisStats } from './redis-stats.js';
import type { Scenario, ServerScenarioName } from './scenarios.js';
import { fetchPastLoadShedding } from '../lib/shed-retry.js';
import type { BenchServer } from './servers.js';

export interface LoadSettings {
  warmupSeconds: number;
  durationSeconds: number;
  connections: number;
  pipelining: number;
}

export interface ScenarioMeasurement {
  name: ServerScenarioName;
  label: string;
  request: string;
  /** The process under load, e.g. `todo-read-cached`. */
  server: string;
  expectedStatus: number;
  /** Mean of autocannon's per-second samples. */
  requestsPerSecond: number;
  /** autocannon's latency histogram, in whole milliseconds. */
  latencyMs: { p50: number; p99: number; average: number; max: number };
  responses: number;
  /** Responses per status code, e.g. `{ "200": 123456 }`. */
  statusCounts: Record<string, number>;
  /** Connection errors and timeouts (no response at all). */
  errors: number;
  timeouts: number;
  /** Responses whose status was not the expected one. */
  unexpectedStatuses: number;
  bytesPerSecond: number;
  /** CPU used during the measured run, in percent of one core (the machine has `cpus` × 100). */
  cpuPercent: {
    server: number | null;
    /** This process: autocannon, and the reading of the services' output. */
    loadGenerator: number;
    redis: number | null;
    /** Every process on the machine, PostgreSQL and other people's work included. */
    machine: number | null;
  };
  /** Highest resident memory of the server during warm-up and measurement. */
  peakRssBytes: number | null;
  /**
   * Cache lookups the server logged during the run, by outcome (`hit`, `miss`, `bypass`…);
   * empty below `info`, where lookups are not logged. Anything but hits in a cached scenario
   * means it measured something else, e.g. Redis silent past REDIS_COMMAND_BACKSTOP_MS.
   */
  cacheOutcomes: Record<string, number>;
  /** Share of the logged lookups that were hits; null when none were logged. */
  cacheHitShare: number | null;
  perRequest: {
    /**
     * CPU time the server spent per request, in microseconds. Unlike req/s, it barely depends on
     * how much of the machine the server got, so it compares runs on a busy machine too.
     */
    serverCpuMicroseconds: number | null;
    /** Lines (and bytes) the server logged per request, at the bench's --log-level. */
    logLines: number;
    logBytes: number;
    /** Commands Redis executed per request, from every process. */
    redisCommands: number | null;
  };
  measuredSeconds: number;
}

export interface MeasureContext {
  settings: LoadSettings;
  output: OutputDrain;
  redisStats: RedisStats;
  /** Receives progress text as it happens, newlines included. */
  progress: (text: string) => void;
  signal: AbortSignal;
}

/**
 * How long to wait after a run before reading what the server logged: its last responses' log
 * lines are still on their way through the pipe when autocannon returns.
 */
const SETTLE_MS = 250;

/** Counters read just before and just after the measured run. */
interface Counters {
  wallSeconds: number;
  serverCpuSeconds: number | undefined;
  loadGeneratorCpuSeconds: number;
  machineBusySeconds: number | undefined;
  redis: RedisCounters;
}

export async function measureScenario(
  scenario: Scenario,
  server: BenchServer,
  context: MeasureContext,
): Promise<ScenarioMeasurement> {
  const { progress, signal } = context;
  progress(`${scenario.label}: `);
  const rss = new PeakRssSampler(server.pid);
  let peakRssBytes: number | undefined;
  const readings = await warmUpAndMeasure(scenario, server, context).finally(() => {
    peakRssBytes = rss.stop();
  });
  signal.throwIfAborted();
  if (!isRunning(server.pid)) {
    const output = context.output.recentLines(server.instance).join('\n  ');
    throw new Error(`${server.instance} exited during the ${scenario.label} run; its last output:\n  ${output}`);
  }

  const measurement = summarize(scenario, server, readings, peakRssBytes);
  progress(
    `${Math.round(measurement.requestsPerSecond).toLocaleString('en-US')} req/s, p99 ${measurement.latencyMs.p99} ms\n`,
  );
  return measurement;
}

async function warmUpAndMeasure(scenario: Scenario, server: BenchServer, context: MeasureContext): Promise<Readings> {
  const { settings, progress, signal } = context;
  // Each cached response is loaded once before any load, so that the run measures hits: with
  // every connection walking the ids in step, a warm-up alone could end before the last id.
  if (scenario.server === 'cached-read') await primeCache(server.url, scenario);
  if (settings.warmupSeconds > 0) {
    progress(`warming up ${settings.warmupSeconds} s… `);
    await runAutocannon(server.url, scenario, settings.warmupSeconds, settings, signal);
    await sleep(SETTLE_MS);
  }
  progress(`measuring ${settings.durationSeconds} s… `);
  const logBefore = context.output.count(server.instance);
  const before = await readCounters(server, context);
  const result = await runAutocannon(server.url, scenario, settings.durationSeconds, settings, signal);
  const after = await readCounters(server, context);
  await sleep(SETTLE_MS);
  const logAfter = context.output.count(server.instance);
  return { result, before, after, logBefore, logAfter };
}

/** autocannon's result and the counters around it: the server's output once it has arrived. */
interface Readings {
  result: autocannon.Result;
  before: Counters;
  after: Counters;
  logBefore: OutputCount;
  logAfter: OutputCount;
}

function summarize(
  scenario: Scenario,
  server: BenchServer,
  { result, before, after, logBefore, logAfter }: Readings,
  peakRssBytes: number | undefined,
): ScenarioMeasurement {
  const statusCounts = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([status, { count }]) => [status, count ?? 0]),
  );
  const responses = result.requests.total;
  const wallSeconds = after.wallSeconds - before.wallSeconds;
  const percentOfWall = (start: number | undefined, end: number | undefined): number | null =>
    start === undefined || end === undefined ? null : round(((end - start) / wallSeconds) * 100, 1);
  const perResponse = (delta: number): number => (responses > 0 ? round(delta / responses, 2) : 0);
  const cacheOutcomes = Object.fromEntries(
    Object.entries(logAfter.cacheOutcomes)
      .map(([outcome, count]): [string, number] => [outcome, count - (logBefore.cacheOutcomes[outcome] ?? 0)])
      .filter(([, count]) => count > 0),
  );
  const lookups = lookupCount(cacheOutcomes);

  return {
    name: scenario.name,
    label: scenario.label,
    request: scenario.request,
    server: server.instance,
    expectedStatus: scenario.expectedStatus,
    requestsPerSecond: round(result.requests.average, 1),
    latencyMs: {
      p50: result.latency.p50,
      p99: result.latency.p99,
      average: round(result.latency.average, 2),
      max: result.latency.max,
    },
    responses,
    statusCounts,
    errors: result.errors,
    timeouts: result.timeouts,
    unexpectedStatuses: responses - (statusCounts[String(scenario.expectedStatus)] ?? 0),
    bytesPerSecond: Math.round(result.throughput.average),
    cpuPercent: {
      server: percentOfWall(before.serverCpuSeconds, after.serverCpuSeconds),
      loadGenerator: round(((after.loadGeneratorCpuSeconds - before.loadGeneratorCpuSeconds) / wallSeconds) * 100, 1),
      redis: percentOfWall(before.redis.cpuSeconds, after.redis.cpuSeconds),
      machine: percentOfWall(before.machineBusySeconds, after.machineBusySeconds),
    },
    peakRssBytes: peakRssBytes ?? null,
    cacheOutcomes,
    cacheHitShare: lookups > 0 ? round((cacheOutcomes.hit ?? 0) / lookups, 4) : null,
    perRequest: {
      serverCpuMicroseconds:
        before.serverCpuSeconds === undefined || after.serverCpuSeconds === undefined
          ? null
          : Math.round(perResponse((after.serverCpuSeconds - before.serverCpuSeconds) * 1e6)),
      logLines: perResponse(logAfter.lines - logBefore.lines),
      logBytes: Math.round(perResponse(logAfter.bytes - logBefore.bytes)),
      redisCommands: perResponse(after.redis.commands - before.redis.commands),
    },
    measuredSeconds: round(wallSeconds, 2),
  };
}

async function readCounters(server: BenchServer, context: MeasureContext): Promise<Counters> {
  const redis = await context.redisStats.read();
  const { user, system } = process.cpuUsage();
  return {
    wallSeconds: performance.now() / 1000,
    serverCpuSeconds: readCpuSeconds(server.pid),
    loadGeneratorCpuSeconds: (user + system) / 1e6,
    machineBusySeconds: readMachineBusySeconds(),
    redis,
  };
}

/** Requests every path of the scenario once, one after the other. */
async function primeCache(url: string, scenario: Scenario): Promise<void> {
  for (const path of scenario.paths) {
    const response = await fetchPastLoadShedding(`${url}${path}`, {
      method: scenario.method,
      headers: scenario.headers,
    });
    await response.arrayBuffer();
  }
}

/**
 * One autocannon run, in a worker thread of its own, so that this thread stays free to read the
 * services' output the moment it arrives. Their logs are written synchronously to a pipe that
 * holds a few milliseconds of them at full load: a reader stuck behind autocannon's event loop
 * would hold the services up, and the bench would measure itself.
 *
 * An abort stops the run and rejects at once: stopped workers never report a result.
 */
function runAutocannon(
  url: string,
  scenario: Scenario,
  seconds: number,
  settings: LoadSettings,
  signal: AbortSignal,
): Promise<autocannon.Result> {
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const stop = (): void => {
      instance.stop();
      // Every abort here carries an Error: ours (cli.ts) or the default AbortError.
      reject(signal.reason as Error);
    };
    const instance = autocannon(
      {
        url,
        workers: 1,
        connections: settings.connections,
        pipelining: settings.pipelining,
        duration: seconds,
        method: scenario.method,
        headers: scenario.headers,
        ...(scenario.body !== undefined && { body: scenario.body }),
        requests: scenario.paths.map((path) => ({ path })),
      },
      (error: Error | null, result: autocannon.Result) => {
        signal.removeEventListener('abort', stop);
        if (error) reject(error);
        else resolve(result);
      },
    );
    signal.addEventListener('abort', stop, { once: true });
  });
}

export function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
