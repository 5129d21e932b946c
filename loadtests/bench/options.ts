import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LOG_LEVELS, type LogLevel } from '@taskoverflow/http-kit';
import { repoRoot } from '@taskoverflow/stack';
import { BenchUsageError } from '../errors.js';
import { SCENARIO_NAMES, type ScenarioName } from './scenarios.js';

export interface BenchOptions {
  /** Todos seeded through todo-write before anything is measured. */
  todos: number;
  /** Seconds of load before each measurement, not counted. */
  warmupSeconds: number;
  /** Seconds each scenario is measured for. */
  durationSeconds: number;
  connections: number;
  pipelining: number;
  /** LOG_LEVEL of the services; `info` is the product as shipped. */
  logLevel: LogLevel;
  /** The scenarios to run, always in SCENARIO_NAMES order (the POST run last, as it grows the table). */
  scenarios: ScenarioName[];
  resultsDir: string;
}

export const DEFAULT_RESULTS_DIR = join(repoRoot, 'loadtests', 'results');

export const USAGE = `Usage: pnpm bench [options]

Measures TaskOverflow's request throughput and latency with autocannon, side by side with
a bare node:http server sending the same bytes (the ceiling). Starts its own throwaway
PostgreSQL, redis-server, todo-write, todo-read with the cache, todo-read without it and
the ceiling server, each a process of its own, on 127.0.0.1 (and for the stack scenarios
two more cached todo-read replicas and the load balancer); seeds the todos through
todo-write; then runs each scenario: warm-up, then a measured run.

Two scenarios load several processes at once, each in two phases with the same load
generators (autocannon, each in a process of its own): first one replica alone, then
  stack        the whole stack through the load balancer (two replicas behind it);
               CPU per request of the load balancer, each replica, Redis, PostgreSQL
               and the load generator; req/s as a share of one replica alone
  saturation   both replicas at once, a generator each, past saturation: req/s of the
               two together vs one alone, the cache bypass share, PostgreSQL
               transactions (pg_stat_database) and queries (the replicas' db_queries)
               per 1000 reads, failed requests

Options:
  --todos N          todos to seed (default: 100)
  --warmup S         seconds of unmeasured load before each scenario; 0 skips it (default: 3)
  --duration S       seconds each scenario is measured (default: 10)
  --connections N    concurrent connections (default: 100)
  --pipelining N     requests in flight per connection (default: 1)
  --log-level L      the services' LOG_LEVEL (default: info, the product as shipped:
                     1 JSON line per cached read; warn shows what logging costs), one of
                     ${LOG_LEVELS.join(', ')}
  --scenarios A,B    run only these (default: all; they always run in this order):
                     ${SCENARIO_NAMES.join(', ')}
  --results-dir DIR  where bench-<timestamp>.json and bench-latest.json go
                     (default: loadtests/results)
  -h, --help         show this help

The services' output is counted (log lines per request, cache hits and misses), then
discarded. Prints a table (req/s, latency p50/p99, errors, bytes/s, ratio to the
ceiling; CPU, CPU time per request and memory of the measured server), a table per stack
scenario, and the targets, each with ✓ or ✗ beside its figure; writes the same as JSON. Exits 1 if a scenario had errors or unexpected
statuses (its figures would not mean anything), 0 otherwise: a missed target is a
finding, not a failure.`;

/** The options from the command line, or 'help'. Throws a BenchUsageError naming any bad value. */
export function parseBenchOptions(argv: string[]): BenchOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        todos: { type: 'string', default: '100' },
        warmup: { type: 'string', default: '3' },
        duration: { type: 'string', default: '10' },
        connections: { type: 'string', default: '100' },
        pipelining: { type: 'string', default: '1' },
        'log-level': { type: 'string', default: 'info' },
        scenarios: { type: 'string' },
        'results-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new BenchUsageError((error as Error).message);
  }
  if (values.help) return 'help';

  return {
    todos: wholeNumber('--todos', values.todos, 1, 100_000),
    warmupSeconds: seconds('--warmup', values.warmup, 0),
    durationSeconds: seconds('--duration', values.duration, 0.1),
    connections: wholeNumber('--connections', values.connections, 1, 10_000),
    pipelining: wholeNumber('--pipelining', values.pipelining, 1, 100),
    logLevel: logLevel(values['log-level']),
    scenarios: scenarioList(values.scenarios),
    resultsDir: values['results-dir'] ?? DEFAULT_RESULTS_DIR,
  };
}

function wholeNumber(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BenchUsageError(`${name} must be a whole number from ${min} to ${max} (got "${text}")`);
  }
  return value;
}

function seconds(name: string, text: string, min: number): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > 3_600) {
    throw new BenchUsageError(`${name} must be a number of seconds from ${min} to 3600, e.g. 2.5 (got "${text}")`);
  }
  return value;
}

function logLevel(text: string): LogLevel {
  const level = LOG_LEVELS.find((candidate) => candidate === text);
  if (!level) throw new BenchUsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')} (got "${text}")`);
  return level;
}

function scenarioList(text: string | undefined): ScenarioName[] {
  if (text === undefined) return [...SCENARIO_NAMES];
  const asked = text
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = asked.filter((name) => !(SCENARIO_NAMES as readonly string[]).includes(name));
  if (asked.length === 0 || unknown.length > 0) {
    const problem = asked.length === 0 ? 'no scenario named' : `unknown ${unknown.join(', ')}`;
    throw new BenchUsageError(`--scenarios: ${problem}; choose from ${SCENARIO_NAMES.join(', ')}, separated by commas`);
  }
  return SCENARIO_NAMES.filter((name) => asked.includes(name));
}
