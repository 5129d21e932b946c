/**
 * `pnpm edge-overload`: a burst of large list requests at once through pnpm start's stack, one
 * connection each; statuses, and latency per status as the client saw it and inside the edge.
 * See USAGE.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
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
status, with p50, p99 and max latency as the client saw it (from opening its connection to
the last byte), then p50 and p99 per status inside the edge (its request finished lines): what
the client saw beyond that was spent before the edge read the request or after it wrote the
answer. Also how many connection attempts the kernel dropped meanwhile because a listener's
accept queue was full (the machine's count, from /proc/net/netstat): each waits ≥ 1 s to retry.

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

/** One request as the client saw it: its status (0: no response) and milliseconds to its last byte. */
interface Outcome {
  status: number;
  ms: number;
}

/**
 * One GET on a connection of its own, the request's bytes written as soon as it connects;
 * resolves with the status and the milliseconds from opening the connection to the last byte.
 * Raw sockets rather than node:http's client, and no abort listener per socket: one process
 * playing 3,000 clients spends its own CPU on each, and every client waits for it (its first
 * connection completes only after it has opened them all, ≈ 0.2–0.3 s). Against a bare server
 * the slowest answer took 0.8–1.3 s with node:http and a signal per request, 0.7–0.9 s so.
 * `open` holds the socket until it closes.
 */
function timedGet(port: number, requestBytes: Buffer, open: Set<Socket>): Promise<Outcome> {
  const startedAt = performance.now();
  return new Promise((resolve) => {
    // Written, not ended: the request says Connection: close, and a half-close is one more system call.
    const socket = connect({ host: HOST, port }, () => socket.write(requestBytes));
    open.add(socket);
    let statusLine = '';
    socket.on('data', (chunk: Buffer) => {
      if (statusLine.length < STATUS_LINE_LENGTH) statusLine += chunk.toString('latin1', 0, STATUS_LINE_LENGTH);
    });
    // The last byte is the end of the response; 'close' comes a turn of the event loop later.
    let lastByteAt: number | undefined;
    socket.once('end', () => (lastByteAt = performance.now()));
    const settle = (): void => {
      open.delete(socket);
      const status = /^HTTP\/1\.[01] (\d{3}) /.exec(statusLine)?.[1];
      resolve({ status: status ? Number(status) : 0, ms: (lastByteAt ?? performance.now()) - startedAt });
    };
    socket.on('error', () => undefined); // 'close' follows, and settles
    socket.once('close', settle);
  });
}

/** `HTTP/1.1 503 `: the part of a response that says its status. */
const STATUS_LINE_LENGTH = 13;

/**
 * The machine's count of connections the kernel dropped because a listener's accept queue was
 * full (TcpExt ListenOverflows in /proc/net/netstat); undefined where there is no such file.
 * Each such client retries its SYN only after 1 s, then 3 s.
 */
async function listenOverflows(): Promise<number | undefined> {
  const netstat = await readFile('/proc/net/netstat', 'utf8').catch(() => undefined);
  const [names, values] = (netstat?.split('\n') ?? []).filter((line) => line.startsWith('TcpExt:'));
  const at = names?.split(' ').indexOf('ListenOverflows') ?? -1;
  return at > 0 ? Number(values?.split(' ')[at]) : undefined;
}

interface Burst {
  outcomes: Outcome[];
  /** Connection attempts a full accept queue dropped during the burst: undefined where not known. */
  dropped: number | undefined;
}

/**
 * `requests` GETs of `path` on `url` at once, each on a connection of its own, with how many
 * connection attempts a full accept queue dropped meanwhile (the machine's count, if known).
 */
async function burst(url: string, path: string, requests: number, signal: AbortSignal): Promise<Burst> {
  const { host, port } = new URL(url);
  const requestBytes = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, 'latin1');
  const overflowsBefore = await listenOverflows();
  // One abort listener for the whole burst: one per socket would cost more than the socket.
  const open = new Set<Socket>();
  const abort = (): void => open.forEach((socket) => socket.destroy());
  signal.addEventListener('abort', abort, { once: true });
  const outcomes = await Promise.all(
    Array.from({ length: requests }, () => timedGet(Number(port), requestBytes, open)),
  ).finally(() => signal.removeEventListener('abort', abort));
  signal.throwIfAborted();
  const overflowsAfter = await listenOverflows();
  const dropped =
    overflowsBefore === undefined || overflowsAfter === undefined ? undefined : overflowsAfter - overflowsBefore;
  return { outcomes, dropped };
}

/** `  503: 2,460, p50 1070 ms, p99 1413 ms, max 1414 ms`, a line per status, then the dropped connection attempts. */
function printBurst({ outcomes, dropped }: Burst): void {
  for (const [status, times] of byStatus(outcomes)) {
    const ms = (p: number): string => percentile(times, p).toFixed(0);
    console.log(
      `  ${status || 'no response'}: ${times.length.toLocaleString('en-US')}, p50 ${ms(50)} ms, p99 ${ms(99)} ms, max ${times.at(-1)!.toFixed(0)} ms`,
    );
  }
  if (dropped !== undefined)
    console.log(`  connection attempts dropped by a full accept queue (each retried after ≥ 1 s): ${dropped}`);
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
    const floor = await burst(url, LIST_PATH, requests, signal);
    console.log(
      `floor: ${requests.toLocaleString('en-US')} requests at once to a bare node:http server answering at once:`,
    );
    printBurst(floor);
    return Math.max(...floor.outcomes.map(({ ms }) => ms));
  } finally {
    await server.stop();
  }
}

/** Each status's times, ascending, the statuses in order. */
function byStatus(outcomes: Iterable<Outcome>): Array<[number, number[]]> {
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
    const overload = await burst(stack.url, LIST_PATH, requests, signal);
    console.log(
      `${requests.toLocaleString('en-US')} list requests at once through the edge, ${todos.toLocaleString('en-US')} todos:`,
    );
    printBurst(overload);
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
    const refusals = overload.outcomes.filter(({ status }) => status === 503).map(({ ms }) => ms);
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
