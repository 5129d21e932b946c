/**
 * What a load balancer in front of the services costs: CPU per request of the load balancer
 * process alone, proxying a fixed upstream (the ceiling server, a 27.5 KB body) under
 * autocannon at 100 connections. Each candidate runs as a process of its own, in turn, for a
 * few rounds: the machine is shared, so the report gives the best round and the spread.
 *
 *   pnpm exec tsc -b packages/edge && node --import tsx loadtests/bench/edge-cost.ts [--rounds 3] [--seconds 10]
 *     [--edge name=path/to/server.js|.ts …]
 *
 * With --overload: the same stack with 4,000 todos (a 1.28 MB list), and 3,000 list requests
 * sent at once through the edge, one connection each: statuses, and latency per status.
 *
 * With --stack instead: `pnpm start`'s stack (two todo-read replicas, 100 todos seeded), the
 * cached list served by one replica hit directly, then through the edge, in turn: req/s and
 * CPU per request of each process.
 *
 * Candidates: the edge as `pnpm start` runs it (dist/server.js, every line to LOG_FILE),
 * the same at LOG_LEVEL=warn (no line per request), any --edge entry given (run with the
 * edge's environment; .ts through tsx), and HAProxy when `haproxy` is on PATH, with a
 * configuration doing what the edge does per request (round robin, X-Forwarded-For,
 * x-request-id validated or generated, health checks every 500 ms, no logging).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request as httpRequest, Agent } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { startLocalStack } from '@taskoverflow/stack';
import { CEILING_ENTRY, ceilingServerEnv } from '../lib/ceiling.js';
import { readCpuSeconds } from '../lib/process-stats.js';
import { seedTodos } from '../lib/seed.js';

const HOST = '127.0.0.1';
const BODY_BYTES = 27_500;
const CONNECTIONS = 100;
const WARM_UP_SECONDS = 2;
/** The issue's overload: 4,000 todos (a 1.28 MB list), 3,000 list requests at once. */
const OVERLOAD_TODOS = 4_000;
const OVERLOAD_REQUESTS = 3_000;
const TSX_ARGUMENTS = ['--import', 'tsx'];
const repoRoot = new URL('../../', import.meta.url).pathname;

interface Candidate {
  name: string;
  /** `upstreams`: the replicas' base URLs, comma-separated. */
  start(port: number, upstreams: string, dir: string): ChildProcess;
}

interface Round {
  requests: number;
  requestsPerSecond: number;
  lbMicroseconds: number;
  upstreamMicroseconds: number;
  non2xx: number;
}

function nodeEdge(name: string, entry: string, env: Record<string, string>): Candidate {
  return {
    name,
    start: (port, upstream, dir) =>
      spawn(process.execPath, [...(entry.endsWith('.ts') ? TSX_ARGUMENTS : []), entry], {
        cwd: repoRoot,
        env: {
          ...process.env,
          HOST,
          PORT: String(port),
          READ_UPSTREAMS: upstream,
          WRITE_UPSTREAMS: upstream,
          LOG_FILE: join(dir, `${name}.log`),
          ...env,
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      }),
  };
}

/** HAProxy doing per request what the edge does; nbthread 1: one core, as one Node process. */
function haproxy(): Candidate {
  return {
    name: 'haproxy',
    start: (port, upstream, dir) => {
      const config = join(dir, 'haproxy.cfg');
      writeFileSync(
        config,
        `global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 65s
  timeout server 60s
  timeout http-keep-alive 65s
  option forwardfor
frontend edge
  bind ${HOST}:${port}
  http-request set-header x-request-id %[uuid()] unless { req.hdr(x-request-id) -m reg ^[A-Za-z0-9._:-]{1,128}$ }
  http-request set-var(txn.request_id) req.hdr(x-request-id)
  http-response set-header x-request-id %[var(txn.request_id)]
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk GET /api/v1/health
${upstream
  .split(',')
  .map((url, index) => `  server replica-${index + 1} ${new URL(url).host} check inter 500 maxconn 64\n`)
  .join('')}`,
      );
      return spawn('haproxy', ['-db', '-f', config], { stdio: ['ignore', 'ignore', 'inherit'] });
    },
  };
}

/** A port nothing listens on now (the kernel's pick for port 0). */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, HOST);
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitUntilAnswering(url: string, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with code ${child.exitCode}`);
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  throw new Error(`${url} did not answer within 10 s`);
}

function load(url: string, seconds: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: CONNECTIONS, duration: seconds }, (error: unknown, result: autocannon.Result) =>
      error ? reject(new Error('autocannon failed', { cause: error })) : resolve(result),
    );
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function measure(candidate: Candidate, upstream: { url: string; pid: number }, dir: string, seconds: number): Promise<Round> {
  const port = await freePort();
  const child = candidate.start(port, upstream.url, dir);
  try {
    const url = `http://${HOST}:${port}/api/v1/todos`;
    await waitUntilAnswering(url, child);
    await load(url, WARM_UP_SECONDS);
    const lbBefore = readCpuSeconds(child.pid!)!;
    const upstreamBefore = readCpuSeconds(upstream.pid)!;
    const result = await load(url, seconds);
    const lbCpu = readCpuSeconds(child.pid!)! - lbBefore;
    const upstreamCpu = readCpuSeconds(upstream.pid)! - upstreamBefore;
    const requests = result.requests.total;
    return {
      requests,
      requestsPerSecond: Math.round(requests / seconds),
      lbMicroseconds: Math.round((lbCpu * 1e6) / requests),
      upstreamMicroseconds: Math.round((upstreamCpu * 1e6) / requests),
      non2xx: result.non2xx + result.errors,
    };
  } finally {
    await stop(child);
  }
}

/** The pid of this process's child that runs `instance` (its SERVICE_INSTANCE), from /proc. */
function instancePid(instance: string): number {
  const children = spawnSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean);
  const pid = children.map(Number).find((child) => {
    try {
      return readFileSync(`/proc/${child}/environ`, 'utf8').split('\0').includes(`SERVICE_INSTANCE=${instance}`);
    } catch {
      return false;
    }
  });
  if (pid === undefined) throw new Error(`no child process runs ${instance}`);
  return pid;
}

async function measureStack(rounds: number, seconds: number): Promise<void> {
  const logDir = mkdtempSync(join(tmpdir(), 'edge-cost-logs-'));
  const stack = await startLocalStack({ port: 0, quiet: true, logDir });
  try {
    await seedTodos(stack.url, 100);
    const replica = stack.services.find((service) => service.instance === 'todo-read-1')!.url;
    const replicaPid = instancePid('todo-read-1');
    const targets: Array<{ name: string; url: string; lbPid?: number }> = [
      { name: 'one replica directly', url: `${replica}/api/v1/todos` },
      { name: 'through the edge', url: `${stack.url}/api/v1/todos`, lbPid: stack.edgePid },
    ];
    // The reference: HAProxy in front of the same replicas, in the same rounds.
    let haproxyProcess: ChildProcess | undefined;
    if (spawnSync('haproxy', ['-v']).status === 0) {
      const port = await freePort();
      haproxyProcess = haproxy().start(port, stack.readUrls.join(','), logDir);
      targets.push({ name: 'through haproxy', url: `http://${HOST}:${port}/api/v1/todos`, lbPid: haproxyProcess.pid! });
      await waitUntilAnswering(targets.at(-1)!.url, haproxyProcess);
    }
    const best = new Map<string, number>();
    for (let round = 1; round <= rounds; round += 1) {
      for (const target of targets) {
        await load(target.url, WARM_UP_SECONDS);
        const lbBefore = target.lbPid === undefined ? 0 : readCpuSeconds(target.lbPid)!;
        const replicaBefore = readCpuSeconds(replicaPid)!;
        const result = await load(target.url, seconds);
        const requests = result.requests.total;
        const perRequest = (before: number, pid: number | undefined): number | string =>
          pid === undefined ? '-' : Math.round(((readCpuSeconds(pid)! - before) * 1e6) / requests);
        const rate = Math.round(requests / seconds);
        const failed = result.non2xx + result.errors;
        // A round with failures measured something else (shedding, an outage): not a best.
        if (failed === 0) best.set(target.name, Math.max(best.get(target.name) ?? 0, rate));
        console.log(
          `round ${round} ${target.name.padEnd(21)} ${String(rate).padStart(6)} req/s  load balancer ${perRequest(lbBefore, target.lbPid)} µs/req  ` +
            `todo-read-1 ${perRequest(replicaBefore, replicaPid)} µs/req  non-2xx/errors ${failed}`,
        );
      }
    }
    const direct = best.get(targets[0]!.name);
    console.log(
      `\nbest req/s of ${rounds} rounds of ${seconds} s without a failed request, ${CONNECTIONS} connections, cached list of 100 todos:`,
    );
    for (const target of targets) {
      const rate = best.get(target.name);
      console.log(`  ${target.name.padEnd(21)} ${rate ?? 'n/a'}${rate && direct ? ` (${(rate / direct).toFixed(2)}×)` : ''}`);
    }
    if (haproxyProcess) await stop(haproxyProcess);
  } finally {
    await stack.stop();
    rmSync(logDir, { recursive: true, force: true });
  }
}

/** One GET on a connection of its own; resolves with its status and milliseconds to the last byte. */
function timedGet(url: string, agent: Agent): Promise<{ status: number; ms: number }> {
  const startedAt = performance.now();
  return new Promise((resolve) => {
    httpRequest(url, { agent }, (response) => {
      response.resume();
      response.once('end', () => resolve({ status: response.statusCode!, ms: performance.now() - startedAt }));
    })
      .once('error', () => resolve({ status: 0, ms: performance.now() - startedAt }))
      .end();
  });
}

function percentileOf(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

async function measureOverload(): Promise<void> {
  const logDir = mkdtempSync(join(tmpdir(), 'edge-cost-logs-'));
  const stack = await startLocalStack({ port: 0, quiet: true, logDir });
  try {
    await seedTodos(stack.url, OVERLOAD_TODOS);
    const url = `${stack.url}/api/v1/todos`;
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    const outcomes = await Promise.all(Array.from({ length: OVERLOAD_REQUESTS }, () => timedGet(url, agent)));
    const byStatus = new Map<number, number[]>();
    for (const { status, ms } of outcomes) byStatus.set(status, [...(byStatus.get(status) ?? []), ms]);
    console.log(`${OVERLOAD_REQUESTS} list requests at once through the edge, ${OVERLOAD_TODOS} todos:`);
    for (const [status, times] of [...byStatus].sort(([a], [b]) => a - b)) {
      times.sort((a, b) => a - b);
      const ms = (p: number): string => percentileOf(times, p).toFixed(0);
      console.log(`  ${status || 'error'}: ${times.length}, p50 ${ms(50)} ms, p99 ${ms(99)} ms, max ${times.at(-1)!.toFixed(0)} ms`);
    }
    // The edge's own time per answer (its `request finished` lines): what the client saw beyond
    // it was spent before the edge read the request or after it wrote the answer.
    await stack.stop();
    const edgeTimes = new Map<number, number[]>();
    for (const line of readFileSync(stack.logFile('edge'), 'utf8').split('\n')) {
      if (!line.includes('"request finished"')) continue;
      const { status, duration_ms: ms } = JSON.parse(line) as { status: number; duration_ms: number };
      edgeTimes.set(status, [...(edgeTimes.get(status) ?? []), ms]);
    }
    for (const [status, times] of [...edgeTimes].sort(([a], [b]) => a - b)) {
      times.sort((a, b) => a - b);
      console.log(`  inside the edge, ${status}: p50 ${percentileOf(times, 50).toFixed(1)} ms, p99 ${percentileOf(times, 99).toFixed(1)} ms`);
    }
  } finally {
    await stack.stop();
    rmSync(logDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '10' },
      edge: { type: 'string', multiple: true },
      stack: { type: 'boolean', default: false },
      overload: { type: 'boolean', default: false },
    },
  });
  const rounds = Number(values.rounds);
  const seconds = Number(values.seconds);
  if (values.stack) return measureStack(rounds, seconds);
  if (values.overload) return measureOverload();
  const candidates: Candidate[] = [
    nodeEdge('edge', join(repoRoot, 'packages/edge/dist/server.js'), { LOG_LEVEL: 'info' }),
    nodeEdge('edge-warn', join(repoRoot, 'packages/edge/dist/server.js'), { LOG_LEVEL: 'warn' }),
    ...(values.edge ?? []).map((spec) => {
      const [name, entry] = spec.split('=') as [string, string];
      return nodeEdge(name, entry, { LOG_LEVEL: 'info' });
    }),
    ...(spawnSync('haproxy', ['-v']).status === 0 ? [haproxy()] : []),
  ];

  const dir = mkdtempSync(join(tmpdir(), 'edge-cost-'));
  writeFileSync(join(dir, 'body.json'), JSON.stringify({ todos: 'x'.repeat(BODY_BYTES - 12) }));
  const upstreamPort = await freePort();
  const upstream = spawn(process.execPath, [CEILING_ENTRY], {
    cwd: repoRoot,
    env: {
      ...process.env,
      HOST,
      PORT: String(upstreamPort),
      ...ceilingServerEnv(join(dir, 'body.json'), { 'content-type': 'application/json; charset=utf-8' }),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const upstreamUrl = `http://${HOST}:${upstreamPort}`;
  const results = new Map<string, Round[]>(candidates.map((candidate) => [candidate.name, []]));
  try {
    await waitUntilAnswering(upstreamUrl, upstream);
    for (let round = 1; round <= rounds; round += 1) {
      for (const candidate of candidates) {
        const measured = await measure(candidate, { url: upstreamUrl, pid: upstream.pid! }, dir, seconds);
        results.get(candidate.name)!.push(measured);
        console.log(
          `round ${round} ${candidate.name.padEnd(10)} ${String(measured.requestsPerSecond).padStart(6)} req/s  ` +
            `LB ${String(measured.lbMicroseconds).padStart(4)} µs/req  upstream ${measured.upstreamMicroseconds} µs/req  non-2xx/errors ${measured.non2xx}`,
        );
      }
    }
  } finally {
    await stop(upstream);
    rmSync(dir, { recursive: true, force: true });
  }

  console.log(
    `\nCPU per request of the load balancer process, ${rounds} rounds of ${seconds} s, ${CONNECTIONS} connections, ${BODY_BYTES} B body:`,
  );
  for (const [name, measured] of results) {
    const cpu = measured.map((round) => round.lbMicroseconds).sort((a, b) => a - b);
    const rate = measured.map((round) => round.requestsPerSecond).sort((a, b) => b - a);
    console.log(`  ${name.padEnd(10)} best ${cpu[0]} µs (all: ${cpu.join(', ')})  req/s best ${rate[0]} (all: ${rate.join(', ')})`);
  }
}

await main();
