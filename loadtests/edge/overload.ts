/**
 * `pnpm edge-overload`: a burst of large list requests at once through pnpm start's stack, one
 * connection each; statuses, and latency per status as the client saw it and inside the edge.
 * See USAGE.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REQUEST_FINISHED_MESSAGE, type EdgeRequestFinished } from '@taskoverflow/observability/log-schema';
import { buildServices, startLocalStack } from '@taskoverflow/stack';
import { percentile } from '@taskoverflow/trace';
import { startJsonCeiling } from '../lib/ceiling.js';
import { seedTodos } from '../lib/seed.js';
import { asUsageError, HOST, runCommand, wholeNumber } from './cli.js';

const LIST_PATH = '/api/v1/todos';
/** The bound (#20) on a 503 as the client sees it. */
const REFUSAL_BOUND_MS = 1_000;

const USAGE = `Usage: pnpm edge-overload [--todos N] [--requests N]

Overload with large responses: starts pnpm start's stack (the edge, HAProxy or the Node edge
as TASKOVERFLOW_BALANCER chooses; two todo-read replicas, todo-write, a throwaway PostgreSQL,
Redis) on free ports, seeds the todos (4,000 make a 1.28 MB list), then sends that many list
requests at once through the edge, each on a connection of its own. Prints how many got each
status, with p50, p99 and max latency as the client saw it, then p50 and p99 per status inside
the edge (its request finished lines): what the client saw beyond that was spent before the
edge read the request or after it wrote the answer.

First, the floor: the same burst against a bare node:http server that answers each request at
once with a small body, in a process of its own. Opening that many connections at once costs
this machine and this client something whatever the server does; the 503s are judged against
the 1 s bound and against that floor.

Options:
  --todos N      todos to seed (default: 4000)
  --requests N   list requests sent at once (default: 3000)
  -h, --help     show this help`;

interface OverloadOptions {
  todos: number;
  requests: number;
}

function parseOptions(argv: string[]): OverloadOptions | 'help' {
  const { values } = asUsageError(() =>
    parseArgs({
      args: argv,
      strict: true,
      options: {
        todos: { type: 'string', default: '4000' },
        requests: { type: 'string', default: '3000' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help) return 'help';
  return {
    todos: wholeNumber('--todos', values.todos, 1, 100_000),
    requests: wholeNumber('--requests', values.requests, 1, 20_000),
  };
}

/** One GET on a connection of its own; resolves with its status (0: no response) and milliseconds to the last byte. */
function timedGet(url: string, agent: Agent, signal: AbortSignal): Promise<{ status: number; ms: number }> {
  const startedAt = performance.now();
  return new Promise((resolve) => {
    httpRequest(url, { agent, signal }, (response) => {
      response.resume();
      response.once('end', () => resolve({ status: response.statusCode!, ms: performance.now() - startedAt }));
    })
      .once('error', () => resolve({ status: 0, ms: performance.now() - startedAt }))
      .end();
  });
}

/** `requests` GETs of `url` at once, each on a connection of its own. */
async function burst(
  url: string,
  requests: number,
  signal: AbortSignal,
): Promise<Array<{ status: number; ms: number }>> {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const outcomes = await Promise.all(Array.from({ length: requests }, () => timedGet(url, agent, signal)));
  signal.throwIfAborted();
  return outcomes;
}

/** `  503: 2,460, p50 1070 ms, p99 1413 ms, max 1414 ms`, a line per status. */
function printByStatus(outcomes: Iterable<{ status: number; ms: number }>): void {
  for (const [status, times] of byStatus(outcomes)) {
    const ms = (p: number): string => percentile(times, p).toFixed(0);
    console.log(
      `  ${status || 'no response'}: ${times.length.toLocaleString('en-US')}, p50 ${ms(50)} ms, p99 ${ms(99)} ms, max ${times.at(-1)!.toFixed(0)} ms`,
    );
  }
}

/** The burst against a bare node:http server answering at once: what the connections alone cost. */
async function measureFloor(workDir: string, requests: number, signal: AbortSignal): Promise<number> {
  const { url, server } = await startJsonCeiling(
    'floor',
    HOST,
    join(workDir, 'floor-body.json'),
    JSON.stringify({ error: 'a bare server answering at once' }),
  );
  try {
    const outcomes = await burst(`${url}${LIST_PATH}`, requests, signal);
    console.log(
      `floor: ${requests.toLocaleString('en-US')} requests at once to a bare node:http server answering at once:`,
    );
    printByStatus(outcomes);
    return Math.max(...outcomes.map(({ ms }) => ms));
  } finally {
    await server.stop();
  }
}

/** Each status's times, ascending, the statuses in order. */
function byStatus(outcomes: Iterable<{ status: number; ms: number }>): Array<[number, number[]]> {
  const times = new Map<number, number[]>();
  for (const { status, ms } of outcomes) times.set(status, [...(times.get(status) ?? []), ms]);
  return [...times].sort(([a], [b]) => a - b).map(([status, list]) => [status, list.sort((a, b) => a - b)]);
}

async function measureOverload({ todos, requests }: OverloadOptions, signal: AbortSignal): Promise<void> {
  await buildServices();
  signal.throwIfAborted();
  // A throwaway database too: the todos seeded here stay out of pnpm start's.
  const workDir = await mkdtemp(join(tmpdir(), 'edge-overload-'));
  const logDir = join(workDir, 'logs');
  await mkdir(logDir);
  const floorMaxMs = await measureFloor(workDir, requests, signal);
  const stack = await startLocalStack({ port: 0, quiet: true, logDir, dataDir: join(workDir, 'postgres'), signal });
  try {
    console.log(
      `stack: ${stack.url}, edge: ${stack.balancer.description} ✓; seeding ${todos.toLocaleString('en-US')} todos…`,
    );
    await seedTodos(stack.url, todos, { signal });
    const outcomes = await burst(`${stack.url}${LIST_PATH}`, requests, signal);
    console.log(
      `${requests.toLocaleString('en-US')} list requests at once through the edge, ${todos.toLocaleString('en-US')} todos:`,
    );
    printByStatus(outcomes);
    // Stopped first, so that every line is in the edge's file.
    await stack.stop();
    const listLines = (await readFile(stack.logFile('edge'), 'utf8'))
      .split('\n')
      .filter((line) => line.includes(`"msg":"${REQUEST_FINISHED_MESSAGE}"`))
      .map((line) => JSON.parse(line) as EdgeRequestFinished)
      .filter((line) => line.method === 'GET' && line.url === LIST_PATH); // not the seeding's
    for (const [status, times] of byStatus(listLines.map((line) => ({ status: line.status, ms: line.duration_ms })))) {
      console.log(
        `  inside the edge, ${status}: p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms`,
      );
    }
    const refusals = outcomes.filter(({ status }) => status === 503).map(({ ms }) => ms);
    if (refusals.length > 0) {
      const slowest = Math.max(...refusals);
      console.log(
        `503s: the slowest ${slowest.toFixed(0)} ms as the client saw it, ${slowest <= REFUSAL_BOUND_MS ? '✓ within' : '✗ over'} ${REFUSAL_BOUND_MS} ms; ` +
          `${Math.abs(slowest - floorMaxMs).toFixed(0)} ms ${slowest >= floorMaxMs ? 'beyond' : 'under'} the floor's slowest (${floorMaxMs.toFixed(0)} ms)`,
      );
    }
  } finally {
    await stack.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

process.exit(await runCommand('edge-overload', USAGE, parseOptions, measureOverload));
