/**
 * `pnpm edge-cost`: what a load balancer in front of the services costs, as CPU per request of
 * its process alone, proxying a fixed upstream (the ceiling server). See USAGE.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { HEALTH_PATH } from '@taskoverflow/routing';
import {
  buildServices,
  EDGE_ENTRY,
  findFreePort,
  findHaproxy,
  readCpuSeconds,
  startBalancer,
  startServiceProcess,
} from '@taskoverflow/stack';
import { startJsonCeiling } from '../lib/ceiling.js';
import { EdgeBenchUsageError } from '../errors.js';
import { asUsageError, HOST, runCommand, wholeNumber } from './cli.js';

const BODY_BYTES = 27_500;
const CONNECTIONS = 100;
const WARM_UP_SECONDS = 2;
const LIST_PATH = '/api/v1/todos';

const USAGE = `Usage: pnpm edge-cost [--rounds N] [--seconds S] [--edge NAME=PATH …]

What a load balancer in front of the services costs: CPU per request of the load balancer
process alone, proxying a fixed upstream (the ceiling server sending a ${BODY_BYTES.toLocaleString('en-US')} B body) under
autocannon at ${CONNECTIONS} connections, read from /proc. Each candidate runs as a process of its
own, in turn, for a few rounds: the machine is shared, so the summary gives the best round
and every round.

Candidates:
  edge        the edge as pnpm start runs it (compiled, every line to LOG_FILE)
  edge-warn   the same at LOG_LEVEL=warn (no line per request)
  NAME        each --edge NAME=PATH: another entry run with the edge's environment
              (HOST, PORT, READ_UPSTREAMS, WRITE_UPSTREAMS, LOG_FILE); .ts through tsx
  haproxy     when haproxy is on PATH: HAProxy as pnpm start runs it (its configuration
              generated from the routing table and the EDGE_* settings, one thread, every
              request logged by HAProxy itself to the log file)

Options:
  --rounds N         rounds of every candidate (default: 3)
  --seconds S        measured seconds per round, after ${WARM_UP_SECONDS} s of warm-up (default: 10)
  --edge NAME=PATH   one more candidate (repeatable)
  -h, --help         show this help

The same stack measured as a whole (one replica alone, then through the load balancer with
two replicas, CPU per request of every process): pnpm bench --scenarios stack.`;

interface EdgeCostOptions {
  rounds: number;
  seconds: number;
  /** The --edge candidates: name and entry. */
  edges: Array<{ name: string; entry: string }>;
}

interface Candidate {
  name: string;
  /** Starts it on `port` in front of `upstream` (a base URL); resolves once it answers. */
  start(port: number, upstream: string, dir: string): Promise<{ pid: number; stop(): Promise<void> }>;
}

interface Round {
  requestsPerSecond: number;
  lbMicroseconds: number;
  upstreamMicroseconds: number;
  non2xx: number;
}

function parseOptions(argv: string[]): EdgeCostOptions | 'help' {
  const { values } = asUsageError(() =>
    parseArgs({
      args: argv,
      strict: true,
      options: {
        rounds: { type: 'string', default: '3' },
        seconds: { type: 'string', default: '10' },
        edge: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help) return 'help';
  return {
    rounds: wholeNumber('--rounds', values.rounds, 1, 100),
    seconds: wholeNumber('--seconds', values.seconds, 1, 3_600),
    edges: (values.edge ?? []).map((spec) => {
      const [name, entry] = spec.split('=', 2);
      if (!name || !entry)
        throw new EdgeBenchUsageError(
          `--edge takes NAME=PATH, e.g. --edge mine=packages/edge/src/server.ts (got "${spec}")`,
        );
      return { name, entry };
    }),
  };
}

function nodeEdge(name: string, entry: string, logLevel: string): Candidate {
  return {
    name,
    start: (port, upstream, dir) =>
      startServiceProcess({
        instance: name,
        entry,
        env: {
          HOST,
          PORT: String(port),
          READ_UPSTREAMS: upstream,
          WRITE_UPSTREAMS: upstream,
          LOG_FILE: join(dir, `${name}.log`),
          LOG_LEVEL: logLevel,
        },
        healthUrl: `http://${HOST}:${port}${HEALTH_PATH}`,
        // Its log lines go to LOG_FILE; should it fail to start, the error quotes its last output.
        onLine: () => undefined,
      }),
  };
}

/** HAProxy as pnpm start runs it (balancer.ts): its generated configuration, every request logged. */
function haproxy(): Candidate {
  return {
    name: 'haproxy',
    start: (port, upstream, dir) =>
      startBalancer({
        kind: 'haproxy',
        host: HOST,
        port,
        upstreams: { 'todo-read': [upstream], 'todo-write': [upstream] },
        env: { LOG_FILE: join(dir, 'haproxy.log') },
        onLine: () => undefined,
      }),
  };
}

/** autocannon for `seconds`; an abort stops it at once and rejects. */
function load(url: string, seconds: number, signal: AbortSignal): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      { url, connections: CONNECTIONS, duration: seconds },
      (error: unknown, result: autocannon.Result) => {
        signal.removeEventListener('abort', stop);
        if (signal.aborted) reject(signal.reason as Error);
        else if (error) reject(new Error('autocannon failed', { cause: error }));
        else resolve(result);
      },
    );
    const stop = (): void => instance.stop();
    signal.addEventListener('abort', stop, { once: true });
  });
}

async function measure(
  candidate: Candidate,
  upstream: { url: string; pid: number },
  dir: string,
  seconds: number,
  signal: AbortSignal,
): Promise<Round> {
  const port = await findFreePort(HOST);
  const running = await candidate.start(port, upstream.url, dir);
  try {
    const url = `http://${HOST}:${port}${LIST_PATH}`;
    await load(url, WARM_UP_SECONDS, signal);
    const lbBefore = readCpuSeconds(running.pid)!;
    const upstreamBefore = readCpuSeconds(upstream.pid)!;
    const result = await load(url, seconds, signal);
    const requests = result.requests.total;
    return {
      requestsPerSecond: Math.round(requests / seconds),
      lbMicroseconds: Math.round(((readCpuSeconds(running.pid)! - lbBefore) * 1e6) / requests),
      upstreamMicroseconds: Math.round(((readCpuSeconds(upstream.pid)! - upstreamBefore) * 1e6) / requests),
      non2xx: result.non2xx + result.errors,
    };
  } finally {
    await running.stop();
  }
}

async function measureEdgeCost({ rounds, seconds, edges }: EdgeCostOptions, signal: AbortSignal): Promise<void> {
  await buildServices();
  signal.throwIfAborted();
  const candidates: Candidate[] = [
    nodeEdge('edge', EDGE_ENTRY, 'info'),
    nodeEdge('edge-warn', EDGE_ENTRY, 'warn'),
    ...edges.map(({ name, entry }) => nodeEdge(name, entry, 'info')),
    ...(findHaproxy() ? [haproxy()] : []),
  ];
  console.log(`candidates: ${candidates.map((candidate) => candidate.name).join(', ')}`);

  const dir = mkdtempSync(join(tmpdir(), 'edge-cost-'));
  const results = new Map<string, Round[]>(candidates.map((candidate) => [candidate.name, []]));
  try {
    const { url: upstreamUrl, server: upstream } = await startJsonCeiling(
      'ceiling',
      HOST,
      join(dir, 'body.json'),
      JSON.stringify({ todos: 'x'.repeat(BODY_BYTES - 12) }),
    );
    try {
      for (let round = 1; round <= rounds; round += 1) {
        for (const candidate of candidates) {
          const measured = await measure(candidate, { url: upstreamUrl, pid: upstream.pid }, dir, seconds, signal);
          results.get(candidate.name)!.push(measured);
          console.log(
            `round ${round} ${candidate.name.padEnd(10)} ${String(measured.requestsPerSecond).padStart(6)} req/s  ` +
              `LB ${String(measured.lbMicroseconds).padStart(4)} µs/req  upstream ${measured.upstreamMicroseconds} µs/req  non-2xx/errors ${measured.non2xx}`,
          );
        }
      }
    } finally {
      await upstream.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  console.log(
    `\nCPU per request of the load balancer process, ${rounds} rounds of ${seconds} s, ${CONNECTIONS} connections, ${BODY_BYTES} B body:`,
  );
  for (const [name, measured] of results) {
    const cpu = measured.map((round) => round.lbMicroseconds).sort((a, b) => a - b);
    const rate = measured.map((round) => round.requestsPerSecond).sort((a, b) => b - a);
    console.log(
      `  ${name.padEnd(10)} best ${cpu[0]} µs (all: ${cpu.join(', ')})  req/s best ${rate[0]} (all: ${rate.join(', ')})`,
    );
  }
}

process.exit(await runCommand('edge-cost', USAGE, parseOptions, measureEdgeCost));
