/** `pnpm trace`: follows one request through the local stack's logs, or finds the slow ones. */
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { interruptedExitCode, onStopSignal } from '@taskoverflow/config';
import { SERVICES } from '@taskoverflow/routing';
import { EndpointStats } from '../endpoint-stats.js';
import { TRACE_NOTHING_FOUND_CODE, TRACE_USAGE_CODE, TraceNothingFoundError, TraceUsageError } from '../errors.js';
import { listLogFiles, readLogEntries, type ReadStats } from '../log-reader.js';
import { parseSince, type RequestFilter } from '../request-filter.js';
import { RequestLookup } from '../request-lookup.js';
import { SlowestRequests } from '../slowest.js';
import { buildTimeline } from '../timeline.js';
import { candidateJson, endpointJson, readJson, requestJson, timelineJson } from '../render/json.js';
import { renderCandidates, renderEndpoints, renderSlowest } from '../render/requests.js';
import { styleFor, type Style } from '../render/style.js';
import { renderTimeline } from '../render/timeline.js';
import {
  AWS_CLI_OPTIONS,
  AWS_CLI_USAGE,
  awsReadSettings,
  readCloudWatch,
  type AwsReadSettings,
} from '../cloudwatch/index.js';
import {
  compareUsage,
  isCompareCommand,
  runCompareCommand,
  runDirectoryOf,
  verdictLines,
  writeBottleneckReport,
} from '../report/index.js';

const USAGE = `Usage: pnpm trace <request-id> | --slowest [N] | --endpoints | --report DIR  [options]
       pnpm trace --compare RUN_A RUN_B [--out DIR]

Finds where the time went, from the JSON log lines that \`pnpm start\` writes to logs/*.log
(the edge, and every replica of todo-read and todo-write).

Modes:
  <request-id>       one request's path through the edge and the services, line by line in
                     time order, then where its time went: db, cache, edge overhead, other
                     (the figures of each service's "request finished" line, its canonical
                     line). A unique prefix of the id will do, as with git commits.
  --slowest [N]      the N slowest requests (default 10) by the service's own duration,
                     with their db, cache and other time. Health checks do not count.
  --endpoints        per endpoint (numeric path segments as :id, no query string): count,
                     p50/p95/p99/max duration (nearest rank) and share of 5xx, slowest p95
                     first. Health checks do not count.
  --report DIR       the bottleneck report of a load-test run, again from its saved files:
                     DIR is the run's directory under loadtests/results (or its logs/).
                     Writes bottlenecks.html and bottlenecks.json there and prints the
                     verdict (pnpm loadtest does this after every run; docs/load-testing.md).
                     With --aws-* (a run against AWS), it reads the run's window from
                     CloudWatch again first: late metrics, another cap on log lines
${compareUsage(21)}

Options:
  --since WHEN       --slowest/--endpoints: only requests that finished since WHEN: a time
                     back from now (90s, 10m, 1h, 2d) or an ISO 8601 time (UTC unless it has
                     an offset), e.g. 2026-11-28T12:30
  --service NAME     --slowest/--endpoints: only requests served by todo-read or todo-write
  --logs DIR         read DIR/*.log instead of the repository's logs/
  --json             print JSON instead of text (pnpm's own banner goes to stdout too, so
                     run it as pnpm --silent trace … --json to pipe it)
  -h, --help         show this help

${AWS_CLI_USAGE}

Examples:
  pnpm trace --slowest                    the 10 slowest requests
  pnpm trace --slowest 20 --since 10m     the 20 slowest of the last ten minutes
  pnpm trace 114892ee                     one of them, followed through edge and service
  pnpm trace --endpoints --service todo-read
  pnpm --silent trace --endpoints --json | jq '.endpoints[0]'
  pnpm trace --report loadtests/results/2026-12-01T10-00-00-studiers-stress-local
  pnpm trace --compare loadtests/results/<before> loadtests/results/<after>

Exit status: 0 done, 1 nothing to show (no log files, no such request, or a prefix that
matches several), 2 bad usage. A summary of what was read goes to stderr.`;

const DEFAULT_SLOWEST = 10;
/** When stdout is not a terminal there is no width to fit; this keeps lines readable. */
const DEFAULT_WIDTH = 120;
const MIN_WIDTH = 60;
/** The repository root: this file is packages/trace/src/cli/trace.ts (or dist/cli/trace.js). */
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

type Mode =
  | { kind: 'trace'; idOrPrefix: string }
  | { kind: 'slowest'; limit: number }
  | { kind: 'endpoints' }
  | { kind: 'report'; dir: string; aws: AwsReadSettings | undefined };

interface TraceOptions {
  mode: Mode;
  logsDir: string;
  filter: RequestFilter;
  json: boolean;
}

/** Where the user ran pnpm from: pnpm runs scripts from the repository root, INIT_CWD keeps theirs. */
function userDirectory(env: NodeJS.ProcessEnv): string {
  return env.INIT_CWD ?? process.cwd();
}

/**
 * `--slowest` may come without its N, which parseArgs cannot express (an option has a value
 * or has none): put the default in when no value follows.
 */
function withSlowestDefault(argv: string[]): string[] {
  return argv.flatMap((arg, index) => {
    const next = argv[index + 1];
    return arg === '--slowest' && (next === undefined || next.startsWith('-')) ? [arg, String(DEFAULT_SLOWEST)] : [arg];
  });
}

function readOptions(argv: string[], env: NodeJS.ProcessEnv, nowMs: number): TraceOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: withSlowestDefault(argv),
      allowPositionals: true,
      options: {
        slowest: { type: 'string' },
        endpoints: { type: 'boolean' },
        report: { type: 'string' },
        since: { type: 'string' },
        service: { type: 'string' },
        logs: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        ...AWS_CLI_OPTIONS,
      },
    });
  } catch (error) {
    throw new TraceUsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';

  if (positionals.length > 1) throw new TraceUsageError(`one request id at a time (got ${positionals.join(', ')})`);
  const modes = [
    positionals.length > 0,
    values.slowest !== undefined,
    values.endpoints === true,
    values.report !== undefined,
  ].filter(Boolean).length;
  if (modes !== 1) {
    throw new TraceUsageError(
      modes === 0
        ? 'say what to show: a request id, --slowest [N], --endpoints or --report DIR'
        : 'choose one of: a request id, --slowest, --endpoints, --report',
    );
  }
  const mode =
    values.report === undefined
      ? readMode(positionals[0], values.slowest)
      : {
          kind: 'report' as const,
          dir: resolve(userDirectory(env), values.report),
          aws: awsReadSettings(values, env, userDirectory(env)),
        };
  if (mode.kind !== 'report' && awsReadSettings(values, env, userDirectory(env))) {
    throw new TraceUsageError('the --aws-* flags read a run back from CloudWatch: they go with --report DIR');
  }
  if (
    (mode.kind === 'trace' || mode.kind === 'report') &&
    (values.since !== undefined || values.service !== undefined)
  ) {
    throw new TraceUsageError(
      '--since and --service filter --slowest and --endpoints; a request id or a report needs neither',
    );
  }
  if (mode.kind === 'report' && (values.logs !== undefined || values.json === true)) {
    throw new TraceUsageError(
      '--report DIR reads the run in DIR and writes bottlenecks.json beside it: leave out --logs and --json',
    );
  }
  return {
    mode,
    logsDir: values.logs === undefined ? join(REPO_ROOT, 'logs') : resolve(userDirectory(env), values.logs),
    filter: { sinceMs: readSince(values.since, nowMs), service: readService(values.service) },
    json: values.json === true,
  };
}

function readMode(idOrPrefix: string | undefined, slowest: string | undefined): Mode {
  if (idOrPrefix !== undefined) {
    if (idOrPrefix.trim() === '') throw new TraceUsageError('the request id is empty: give an id or the start of one');
    return { kind: 'trace', idOrPrefix };
  }
  if (slowest === undefined) return { kind: 'endpoints' };
  const limit = Number(slowest);
  if (!Number.isInteger(limit) || limit < 1)
    throw new TraceUsageError(`--slowest takes a whole number of requests, 1 or more (got "${slowest}")`);
  return { kind: 'slowest', limit };
}

function readSince(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const sinceMs = parseSince(value, nowMs);
  if (sinceMs === undefined) {
    throw new TraceUsageError(
      `--since takes a time back from now (90s, 10m, 1h, 2d) or an ISO 8601 time such as 2026-11-28T12:30 (got "${value}")`,
    );
  }
  return sinceMs;
}

function readService(value: string | undefined): string | undefined {
  if (value !== undefined && !(SERVICES as readonly string[]).includes(value)) {
    throw new TraceUsageError(`--service is one of ${SERVICES.join(', ')} (got "${value}")`);
  }
  return value;
}

/** A directory as the user would type it: relative to where they are, when it is below. */
function shownPath(dir: string, env: NodeJS.ProcessEnv): string {
  const fromUser = relative(userDirectory(env), dir);
  return fromUser === '' ? './' : fromUser.startsWith('..') || isAbsolute(fromUser) ? `${dir}/` : `${fromUser}/`;
}

function readSummary(stats: ReadStats, logs: string): string {
  const count = (n: number, one: string, many: string): string =>
    `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
  const summary = `read ${count(stats.files.length, 'file', 'files')} in ${logs}: ${count(stats.lines, 'line', 'lines')}, ${stats.unparseable.toLocaleString('en-US')} unparseable (skipped)`;
  if (stats.lines > 0 && stats.unparseable === stats.lines) {
    return `${summary}\nnone of the lines is a JSON log line: were the services run with LOG_FORMAT=pretty? pnpm trace reads JSON (LOG_FORMAT=json, the default)`;
  }
  return summary;
}

/** Prints a mode's result, as text for people or as JSON. */
interface Printer {
  json: boolean;
  /** Where the logs are, as the user would type it. */
  logs: string;
  style: Style;
  /** Columns to fit text into. */
  width: number;
  lines(lines: string[]): void;
  object(value: object, stats: ReadStats): void;
}

function printerFor(options: TraceOptions, env: NodeJS.ProcessEnv): Printer {
  const write = (text: string): void => void process.stdout.write(`${text}\n`);
  const columns = process.stdout.isTTY ? process.stdout.columns : Number(env.COLUMNS);
  return {
    json: options.json,
    logs: shownPath(options.logsDir, env),
    style: styleFor(process.stdout, env),
    width: Math.max(MIN_WIDTH, columns || DEFAULT_WIDTH),
    lines: (lines) => write(lines.join('\n')),
    object: (value, stats) => write(JSON.stringify({ ...value, read: readJson(stats) }, null, 2)),
  };
}

async function showSlowest(
  files: string[],
  limit: number,
  filter: RequestFilter,
  printer: Printer,
): Promise<ReadStats> {
  const slowest = new SlowestRequests(limit, filter);
  const stats = await readLogEntries(files, (entry) => slowest.add(entry));
  if (printer.json) printer.object({ requests: slowest.result().map(requestJson) }, stats);
  else printer.lines(renderSlowest(slowest.result(), printer.width, printer.style));
  return stats;
}

async function showEndpoints(files: string[], filter: RequestFilter, printer: Printer): Promise<ReadStats> {
  const endpoints = new EndpointStats(filter);
  const stats = await readLogEntries(files, (entry) => endpoints.add(entry));
  if (printer.json) printer.object({ endpoints: endpoints.result().map(endpointJson) }, stats);
  else printer.lines(renderEndpoints(endpoints.result(), printer.width, printer.style));
  return stats;
}

/** The request's timeline; when the id matches none or several, says so and sets exit status 1. */
async function showRequest(files: string[], idOrPrefix: string, printer: Printer): Promise<ReadStats> {
  const lookup = new RequestLookup(idOrPrefix);
  const stats = await readLogEntries(files, (entry) => lookup.add(entry));
  const found = lookup.result();
  if (found.kind === 'found') {
    const timeline = buildTimeline(found.requestId, found.entries);
    if (printer.json) printer.object(timelineJson(timeline), stats);
    else printer.lines(renderTimeline(timeline, printer.width, printer.style));
    return stats;
  }
  process.exitCode = 1;
  const candidates = found.kind === 'ambiguous' ? found.candidates : [];
  const problem =
    found.kind === 'ambiguous'
      ? `"${idOrPrefix}" is the start of ${candidates.length}${found.more ? ' or more' : ''} request ids: give more of the one you mean`
      : `no request id starts with "${idOrPrefix}" in ${printer.logs}: list requests to follow with \`pnpm trace --slowest\``;
  if (printer.json) {
    printer.object({ error: problem, candidates: candidates.map(candidateJson) }, stats);
  } else {
    console.error(`✗ pnpm trace: ${problem}`);
    if (found.kind === 'ambiguous') console.error(renderCandidates(candidates, found.more).join('\n'));
  }
  return stats;
}

/** Writes the run's bottleneck report and prints its verdict. */
async function showReport(dir: string, aws: AwsReadSettings | undefined, env: NodeJS.ProcessEnv): Promise<void> {
  const runDir = runDirectoryOf(dir);
  if (!existsSync(runDir))
    throw new TraceNothingFoundError(
      `no directory ${shownPath(runDir, env)}: give a run's directory under loadtests/results`,
    );
  if (aws) await readCloudWatch(runDir, aws, (line) => console.error(line));
  const report = await writeBottleneckReport(runDir);
  console.log(
    [
      ...verdictLines(report.verdict),
      '',
      `  report  ${shownPath(report.files.html, env).replace(/\/$/, '')} (and .json)`,
    ].join('\n'),
  );
}

async function run(options: TraceOptions, env: NodeJS.ProcessEnv): Promise<void> {
  if (options.mode.kind === 'report') return showReport(options.mode.dir, options.mode.aws, env);
  const printer = printerFor(options, env);
  const files = await listLogFiles(options.logsDir);
  if (files.length === 0)
    throw new TraceNothingFoundError(`no log files in ${printer.logs}: run \`pnpm start\` first, or pass --logs DIR`);
  const { mode } = options;
  const stats =
    mode.kind === 'slowest'
      ? await showSlowest(files, mode.limit, options.filter, printer)
      : mode.kind === 'endpoints'
        ? await showEndpoints(files, options.filter, printer)
        : await showRequest(files, mode.idOrPrefix, printer);
  // JSON carries it in its `read` field.
  if (!options.json) console.error(readSummary(stats, printer.logs));
}

async function main(): Promise<void> {
  // It only reads and writes files: nothing to stop but itself.
  onStopSignal('stopped', (signal) => process.exit(interruptedExitCode('trace', signal)));
  const env = process.env;
  if (isCompareCommand(process.argv.slice(2))) {
    process.exitCode = await runCompareCommand(process.argv.slice(2), {
      command: 'pnpm trace',
      env,
      stdout: process.stdout,
      stderr: process.stderr,
    });
    return;
  }
  try {
    const options = readOptions(process.argv.slice(2), env, Date.now());
    if (options === 'help') {
      console.log(USAGE);
      return;
    }
    await run(options, env);
  } catch (error) {
    const code = (error as { code?: unknown } | undefined)?.code;
    if (code === TRACE_USAGE_CODE) {
      console.error(`✗ pnpm trace: ${(error as Error).message}\n(pnpm trace --help lists the modes and options)`);
      process.exitCode = 2;
    } else if (code === TRACE_NOTHING_FOUND_CODE) {
      console.error(`✗ pnpm trace: ${(error as Error).message}`);
      process.exitCode = 1;
    } else {
      throw error;
    }
  }
}

await main();
