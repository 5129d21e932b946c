/** The bench's report as text: what ran, two aligned tables, and the targets. */
import type { BenchReport } from './results-file.js';
import type { StackScenarioResult } from './stack-scenarios.js';
import type { ScenarioResult } from './targets.js';

const MEBIBYTE = 1024 * 1024;
const GIBIBYTE = 1024 * MEBIBYTE;

export function formatReport(report: BenchReport): string {
  const { machine, options, payload } = report;
  const heading = [
    `pnpm bench, ${report.date.replace(/\.\d+Z$/, 'Z')}: ${machine.cpuModel} × ${machine.cpuCount}, ${(machine.memoryBytes / GIBIBYTE).toFixed(0)} GiB, Node ${machine.nodeVersion}`,
    `${payload.todos} todos (list ${payload.listBytes.toLocaleString('en-US')} bytes); ${options.connections} connections, ` +
      `pipelining ${options.pipelining}; warm-up ${options.warmupSeconds} s, measured ${options.durationSeconds} s each; ` +
      `services at LOG_LEVEL=${options.logLevel}`,
    `load average (1, 5, 15 min) before ${machine.loadAverageBefore.join(' ')}, after ${machine.loadAverageAfter.join(' ')}: ` +
      'autocannon and every server share these cores, with whatever else runs here',
  ];
  return [
    ...heading,
    '',
    throughputTable(report.scenarios),
    '',
    `Where the CPU went during each measured run (% of one core; the machine has ${machine.cpuCount * 100}%), and costs per request:`,
    costTable(report.scenarios),
    ...cacheWarnings(report.scenarios),
    ...report.stackScenarios.flatMap(stackTable),
    '',
    'Targets (figures from this run, not assertions):',
    ...report.targets.map(
      ({ target, met, measured }) => `  ${met === null ? '–' : met ? '✓' : '✗'} ${target}: ${measured}`,
    ),
  ].join('\n');
}

function throughputTable(results: ScenarioResult[]): string {
  return table(
    1,
    ['scenario', 'req/s', '× ceiling', 'p50 ms', 'p99 ms', 'errors', 'unexpected', 'MB/s'],
    results.map((result) => [
      result.label,
      Math.round(result.requestsPerSecond).toLocaleString('en-US'),
      result.ratioToCeiling === null ? 'n/a' : result.ratioToCeiling.toFixed(2),
      String(result.latencyMs.p50),
      String(result.latencyMs.p99),
      String(result.errors),
      // Non-2xx where 2xx was expected; the 304 run expects 304s and counts anything else.
      result.unexpectedStatuses === 0
        ? `0 (${result.expectedStatus})`
        : `${result.unexpectedStatuses} ≠ ${result.expectedStatus}`,
      (result.bytesPerSecond / MEBIBYTE).toFixed(1),
    ]),
  );
}

function costTable(results: ScenarioResult[]): string {
  return table(
    1,
    [
      'scenario',
      'CPU server',
      'bench',
      'redis',
      'machine',
      'server µs/req',
      'RSS peak MB',
      'cache hits',
      'log lines/req',
      'redis cmds/req',
    ],
    results.map(({ label, cpuPercent, peakRssBytes, cacheHitShare, perRequest }) => [
      label,
      percent(cpuPercent.server),
      percent(cpuPercent.loadGenerator),
      percent(cpuPercent.redis),
      percent(cpuPercent.machine),
      perRequest.serverCpuMicroseconds === null ? 'n/a' : String(perRequest.serverCpuMicroseconds),
      peakRssBytes === null ? 'n/a' : (peakRssBytes / MEBIBYTE).toFixed(0),
      cacheHitShare === null ? '–' : `${(cacheHitShare * 100).toFixed(cacheHitShare === 1 ? 0 : 1)}%`,
      perRequest.logLines.toFixed(1),
      perRequest.redisCommands === null ? 'n/a' : perRequest.redisCommands.toFixed(2),
    ]),
  );
}

/**
 * A stack scenario: its two phases, with CPU per request of every process involved (the load
 * generators' summed) and what the replicas' reads cost PostgreSQL.
 */
function stackTable(result: StackScenarioResult): string[] {
  const processes = Object.keys(result.phases[0].cpuMicrosecondsPerRequest);
  const microseconds = (value: number | null | undefined): string =>
    value === null || value === undefined ? 'n/a' : String(value);
  const perThousand = (value: number | null): string => (value === null ? 'n/a' : value.toFixed(2));
  return [
    '',
    `${result.label}: ${result.request}, a load generator process per target; CPU in µs per request of the phase ` +
      '(all its responses, whichever process served them, so that a row adds up to what one request cost):',
    table(
      1,
      [
        'phase',
        'req/s',
        '× alone',
        'failed',
        'p99 ms',
        ...processes,
        'cache bypass',
        'queries/1000',
        'transactions/1000',
      ],
      result.phases.map((phase) => [
        `${phase.label} (${phase.targets.join(', ')})`,
        Math.round(phase.requestsPerSecond).toLocaleString('en-US'),
        (phase.requestsPerSecond / result.phases[0].requestsPerSecond).toFixed(2),
        String(phase.failed),
        String(Math.max(...phase.latencyMs.map((latency) => latency.p99))),
        ...processes.map((name) => microseconds(phase.cpuMicrosecondsPerRequest[name])),
        phase.cacheBypassShare === null ? '–' : `${(phase.cacheBypassShare * 100).toFixed(1)}%`,
        perThousand(phase.dbQueriesPer1000Reads),
        perThousand(phase.dbTransactionsPer1000Reads),
      ]),
    ),
  ];
}

/** Below this share of hits, a cached scenario did not measure the cache alone. */
const CACHED_HIT_SHARE = 0.99;

function cacheWarnings(results: ScenarioResult[]): string[] {
  return results
    .filter((result) => result.cacheHitShare !== null && result.cacheHitShare < CACHED_HIT_SHARE)
    .map((result) => {
      const outcomes = Object.entries(result.cacheOutcomes)
        .map(([outcome, count]) => `${outcome} ${count.toLocaleString('en-US')}`)
        .join(', ');
      return (
        `⚠ ${result.label}: ${((result.cacheHitShare ?? 0) * 100).toFixed(1)}% of cache lookups were hits (${outcomes}), so ` +
        'this run partly measured PostgreSQL. `bypass` lookups mean Redis was disconnected or left a command unanswered ' +
        'past REDIS_COMMAND_BACKSTOP_MS (default 1000 ms).'
      );
    });
}

function percent(value: number | null): string {
  return value === null ? 'n/a' : `${value.toFixed(0)}%`;
}

/** Columns padded to their widest cell: the first `textColumns` left-aligned, the figures after them right-aligned. */
function table(textColumns: number, headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) => (column < textColumns ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((width) => '─'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}
