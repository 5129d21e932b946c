import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, openSync, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { haproxySetup, readEdgeConfig, slotIndex, slotName } from '@taskoverflow/edge';
import {
  EDGE_LISTENING_MESSAGE,
  EDGE_SERVICE,
  LoadBalancerStats,
  STATS_MESSAGE,
  type EdgeListening,
} from '@taskoverflow/observability';
import { SERVICES, type ServiceName } from '@taskoverflow/routing';
import { spawnDetachedChild } from './detached-child.js';
import type { EdgeProcess, EdgeProcessOptions } from './edge-process.js';
import { EdgeControlError, EdgeStartError, PortInUseError } from './errors.js';
import { findFreePort } from './free-port.js';
import { AppendedLines } from './log-files.js';
import { findOnPath, READY_TIMEOUT_MS, stopChild } from './processes.js';
import { readCpuSeconds, readRssBytes } from './process-stats.js';

/** The haproxy binary on PATH, or undefined. */
export function findHaproxy(): string | undefined {
  return findOnPath('haproxy');
}

/** `HAProxy 2.6.12`, for the progress line and the load test's description of the stack. */
export function haproxyVersion(binary: string): string {
  const version = /version (\S+)/.exec(spawnSync(binary, ['-v'], { encoding: 'utf8' }).stdout)?.[1];
  return `HAProxy ${version ?? '(unknown version)'}`;
}

/** Server slots per backend beyond the replicas it starts with: the replacements of rolling restarts. */
const SPARE_SLOTS = 8;
/** How often the runtime API is polled while waiting for a replica's health or its last request. */
const POLL_MS = 50;
/** How long deregister waits for a replica's requests to finish: the edge's own upstream timeout. */
const DRAIN_TIMEOUT_MS = 60_000;
/** Where /proc/self/limits cannot be read (not Linux): the usual soft limit. */
const DEFAULT_OPEN_FILE_LIMIT = 1024;
/** HAProxy's `srv_op_state` for a server that is up. */
const SERVER_UP = '2';
/** HAProxy's warnings that are routine here: stopping, and slots put in and out of maintenance by (de)register. */
const QUIET_MESSAGES =
  /^(Proxy \S+ stopped|Stopping (proxy|frontend|backend)|Server \S+ is going DOWN for maintenance|Server \S+ .*leaving (forced )?maintenance)/;
/** The descriptor HAProxy inherits its log file as (spawn's stdio[3]); 1, stdout, without a file. */
const LOG_FILE_FD = 3;
const STDOUT_FD = 1;
/** How often, at most, HAProxy's request lines are read back from its log file for the `stats` line. */
const MAX_LOG_READ_INTERVAL_MS = 1_000;

/**
 * Runs HAProxy as the edge, with the interface of the Node edge's process (EdgeProcess): the
 * configuration generated from the same routing table and EDGE_* settings (haproxySetup), its
 * request lines in the edge's log schema, a `stats` line every STATS_INTERVAL_MS with HAProxy's
 * own CPU and RSS, and replicas registered and deregistered through its runtime API.
 *
 * With a LOG_FILE, HAProxy appends its request lines to it itself: relaying them through this
 * process cost ≈ 90 µs of CPU per request at 5,000 VUs. This process appends its own lines
 * (stats, health changes, HAProxy's messages), and reads the request lines back in bulk for the
 * `stats` line, whose percentiles HAProxy's counters do not give.
 */
export async function startHaproxyProcess(
  options: EdgeProcessOptions & { binary: string; description: string },
): Promise<EdgeProcess> {
  const port = options.port === 0 ? await findFreePort(options.host) : options.port;
  const config = readEdgeConfig({
    ...process.env,
    ...options.env,
    HOST: options.host,
    PORT: String(port),
    READ_UPSTREAMS: options.upstreams['todo-read'].join(','),
    WRITE_UPSTREAMS: options.upstreams['todo-write'].join(','),
  });
  const dir = mkdtempSync(join(tmpdir(), 'taskoverflow-haproxy-'));
  const adminSocket = join(dir, 'admin.sock');
  const logFile = options.env?.LOG_FILE;
  const setup = haproxySetup(config, {
    dir,
    adminSocket,
    spareSlots: SPARE_SLOTS,
    fileDescriptorLimit: openFileLimit(),
    logFd: logFile ? LOG_FILE_FD : STDOUT_FD,
  });
  writeFileSync(join(dir, 'haproxy.cfg'), setup.config);
  for (const [name, content] of Object.entries(setup.files)) writeFileSync(join(dir, name), content);

  // One open file shared with HAProxy, rather than two opened for appending: HAProxy clears the
  // descriptor's O_APPEND (it sets O_NONBLOCK alone), and writers of one open file share its
  // offset, each write placed after the last (Linux serialises them), so neither overwrites the other.
  const sharedLogFile = logFile ? openSync(logFile, 'w') : undefined;
  const child = spawnDetachedChild(options.binary, ['-db', '-f', join(dir, 'haproxy.cfg')], {
    // The load test's process sampler names a process by its SERVICE_INSTANCE.
    env: { ...process.env, SERVICE_INSTANCE: options.instance ?? EDGE_SERVICE },
    stdio: sharedLogFile === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'ignore', 'pipe', sharedLogFile],
    orphanSignal: 'SIGTERM',
  });
  const exited = new Promise<string>((resolve) => {
    child.once('close', (code, signal) => resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`));
  });
  // Which replica is in which server slot (slotName): its host, or undefined for a free slot.
  const slots = Object.fromEntries(
    SERVICES.map((service) => [
      service,
      [
        ...options.upstreams[service].map((url) => new URL(url).host),
        ...Array.from({ length: SPARE_SLOTS }, () => undefined),
      ],
    ]),
  ) as Record<ServiceName, Array<string | undefined>>;
  const log = new EdgeLog(
    sharedLogFile === undefined ? undefined : createWriteStream('', { fd: sharedLogFile }),
    options.onLine,
    (backend, slot) => {
      const host = SERVICES.includes(backend as ServiceName)
        ? slots[backend as ServiceName][slotIndex(slot)]
        : undefined;
      return host === undefined ? undefined : `http://${host}`;
    },
  );
  const stats =
    config.statsIntervalMs > 0
      ? new LoadBalancerStats(config.statsIntervalMs, {
          cpuMicros: () => (readCpuSeconds(child.pid!) ?? 0) * 1e6,
          rssBytes: () => readRssBytes(child.pid!) ?? 0,
          eventLoop: false,
        })
      : undefined;
  const requestLines = logFile
    ? readBackForStats(new AppendedLines(logFile), stats)
    : relayToConsole(child.stdout!, (lines) => {
        log.requests(lines);
        if (stats) countRequests(stats, lines);
      });
  // HAProxy's own messages (alerts, replicas going down and up): a warning line each.
  const startFailure = { addressInUse: false };
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (line.includes('cannot bind socket (Address already in use)')) startFailure.addressInUse = true;
    log.message(line);
  });

  const admin = (command: string): Promise<string> => adminCommand(adminSocket, command);
  const cleanUp = async (): Promise<void> => {
    // HAProxy has stopped: its last request lines are in the file.
    await requestLines.stop();
    stats?.stop();
    await log.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilAnswering(admin, exited);
  } catch (error) {
    await stopChild(child, exited);
    await cleanUp();
    throw startFailure.addressInUse ? new PortInUseError(port, options.host) : error;
  }
  stats?.start(log);
  const url = `http://${options.host}:${port}`;
  log.info({ balancer: options.description, url } satisfies EdgeListening, EDGE_LISTENING_MESSAGE);

  const slotOf = (service: ServiceName, host: string | undefined): string => {
    if (!SERVICES.includes(service)) {
      throw new EdgeControlError(`refused: no target group for "${service}"; the services are ${SERVICES.join(', ')}`);
    }
    const index = slots[service].indexOf(host);
    if (index === -1) {
      throw new EdgeControlError(
        host === undefined
          ? `has no free ${service} server slot in HAProxy (${slots[service].length}): restart the stack`
          : `has no ${service} replica at ${host}`,
      );
    }
    return slotName(index);
  };

  let stopping: Promise<void> | undefined;
  // Nothing restarts it: say so where the edge's warnings are read, rather than refuse connections silently.
  void exited.then((how) => {
    if (!stopping) log.message(`[ALERT] (${child.pid}) : HAProxy ${how} while the stack was running`);
  });
  return {
    url,
    pid: child.pid!,
    async register(service, replicaUrl) {
      const { hostname, port: replicaPort } = new URL(replicaUrl);
      const slot = slotOf(service, undefined);
      slots[service][slots[service].indexOf(undefined)] = new URL(replicaUrl).host;
      await admin(`set server ${service}/${slot} addr ${hostname} port ${replicaPort}`);
      await admin(`set server ${service}/${slot} state ready`);
      // Resolves once health-checked, as the Node edge's does; a replica that fails stays out.
      await pollUntil(
        READY_TIMEOUT_MS,
        async () => (await serverField(admin, service, slot, 'srv_op_state')) === SERVER_UP,
      );
    },
    async deregister(service, replicaUrl) {
      const host = new URL(replicaUrl).host;
      const slot = slotOf(service, host);
      await admin(`set server ${service}/${slot} state maint`);
      // No new request goes to it; resolves once those it has (and those queued for it) are done.
      await pollUntil(DRAIN_TIMEOUT_MS, async () => {
        const [current, queued] = await serverStats(admin, service, slot, ['scur', 'qcur']);
        return current === '0' && queued === '0';
      });
      slots[service][slots[service].indexOf(host)] = undefined;
    },
    stop: () =>
      (stopping ??= (async () => {
        // SIGUSR1: HAProxy's soft stop, as the Node edge's SIGTERM: no new connection, the requests under way finish.
        await stopChild(child, exited, DRAIN_TIMEOUT_MS, 'SIGUSR1');
        await cleanUp();
      })()),
  };
}

/** This process's open-file limit (ulimit -n), which HAProxy inherits. */
function openFileLimit(): number {
  try {
    const limit = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    if (limit !== undefined) return Number(limit);
  } catch {
    // Not Linux: the usual limit.
  }
  return DEFAULT_OPEN_FILE_LIMIT;
}

/**
 * Counts HAProxy's request lines among `lines` for the `stats` line: status, duration, and
 * whether the queue refused it. A regular expression, not a JSON parse: the runner reads every
 * request line back.
 */
function countRequests(stats: LoadBalancerStats, lines: string[]): void {
  for (const line of lines) {
    const match = /"status":(\d+),"duration_ms":(\d+),.*"termination":"(..)"/.exec(line);
    if (!match) continue;
    // The edge's own 503s: sQ, refused after its whole `timeout queue`; LR, refused at once (a
    // queue too long to join, a client over its connections).
    const status = Number(match[1]);
    stats.add(status, Number(match[2]), status === 503 && (match[3] === 'sQ' || match[3] === 'LR'));
  }
}

/** Stops following HAProxy's request lines once it has stopped, having read the last. */
interface RequestLines {
  stop(): Promise<void>;
}

/**
 * Reads the request lines HAProxy appended to its log file every so often, in bulk, for the
 * `stats` line (nothing to read for without one).
 */
function readBackForStats(file: AppendedLines, stats: LoadBalancerStats | undefined): RequestLines {
  if (!stats) return { stop: async () => undefined };
  let reading: Promise<void> | undefined;
  const readAppended = (): Promise<void> =>
    (reading ??= file
      .read()
      .then((lines) => countRequests(stats, lines))
      .finally(() => (reading = undefined)));
  const timer = setInterval(
    () => void readAppended().catch(() => undefined), // a stats line short of some requests; the next read has them
    Math.min(stats.intervalMs, MAX_LOG_READ_INTERVAL_MS),
  );
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await reading?.catch(() => undefined);
      await readAppended().catch(() => undefined);
    },
  };
}

/** Without a log file (every-line mode): HAProxy's request lines from its stdout, a read of the pipe at a time. */
function relayToConsole(stdout: Readable, relay: (lines: string[]) => void): RequestLines {
  let partial = '';
  stdout.setEncoding('utf8');
  stdout.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    relay(lines);
  });
  return { stop: async () => undefined };
}

/**
 * The edge's log, but for the request lines HAProxy writes to the file itself: in every-line
 * mode those lines, to the console; HAProxy's own messages as JSON warnings; the `stats` lines.
 */
class EdgeLog {
  constructor(
    private readonly file: WriteStream | undefined,
    private readonly onLine: (line: string) => void,
    /** The replica in a backend's server slot, as an origin (`http://127.0.0.1:41234`). */
    private readonly originOf: (backend: string, slot: string) => string | undefined,
  ) {}

  /** The request lines of one read of HAProxy's stdout (every-line mode), to the console. */
  requests(lines: string[]): void {
    // HAProxy's own messages are also on stderr, read there.
    for (const line of lines) if (line.startsWith('{')) this.onLine(line);
  }

  /**
   * `[WARNING]  (1234) : Server todo-read/replica-2 is DOWN, reason: …`. A replica going in or
   * out of rotation is the Node edge's target line (info, with `target` and `healthy`, as the
   * report reads it); its start and stop notices and the maintenance of a slot (register,
   * deregister) go to the file only; other warnings and alerts to the console too.
   */
  message(line: string): void {
    const match = /^\[(\w+)\]\s+\(\d+\) : (.*)$/.exec(line);
    const kind = match?.[1];
    const text = match?.[2] ?? line;
    const health = /^Server ([\w-]+)\/([\w-]+) is (UP|DOWN)\b/.exec(text);
    const target = health && this.originOf(health[1]!, health[2]!);
    if (health && target) {
      const healthy = health[3] === 'UP';
      const msg = `${health[1]} target ${healthy ? 'healthy: in rotation' : 'unhealthy: out of rotation'}`;
      this.write('info', { target, healthy, haproxy: text }, msg, false);
    } else if (kind === 'NOTICE' || QUIET_MESSAGES.test(text)) {
      this.write('info', { haproxy: true }, text, false);
    } else {
      this.write(kind === 'ALERT' ? 'error' : 'warn', { haproxy: true }, text);
    }
  }

  /** A `stats` line (LoadBalancerStats writes through this, as through a pino logger), or the `edge listening` line. */
  info(fields: object, msg: string): void {
    // The console shows stats lines (as the summary); the listening line is said by the progress line.
    this.write('info', fields, msg, msg === STATS_MESSAGE);
  }

  async close(): Promise<void> {
    await new Promise((resolve) => (this.file ? this.file.end(resolve) : resolve(undefined)));
  }

  private write(level: string, fields: object, msg: string, toConsole = true): void {
    const line = JSON.stringify({
      level,
      time: new Date().toISOString(),
      service: EDGE_SERVICE,
      hostname: EDGE_SERVICE,
      ...fields,
      msg,
    });
    this.file?.write(`${line}\n`);
    // The console shows warnings, errors and stats lines (StackConsole), as the Node edge prints them.
    if (toConsole) this.onLine(line);
  }
}

/** One command over HAProxy's runtime API (a UNIX socket; it closes after its answer). */
function adminCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.once('error', reject);
    socket.once('end', () => {
      // The runtime API answers an error in words, e.g. "No such server."
      if (/^(No such|Unknown command|Require|Permission denied)/m.test(answer)) {
        reject(new EdgeControlError(`(HAProxy) refused "${command}": ${answer.trim()}`));
      } else resolve(answer);
    });
    socket.end(`${command}\n`);
  });
}

/** A field of one server in `show servers state`, e.g. `srv_op_state` (2: up). */
async function serverField(
  admin: (command: string) => Promise<string>,
  backend: string,
  server: string,
  field: string,
): Promise<string | undefined> {
  const lines = (await admin(`show servers state ${backend}`)).split('\n');
  const header = lines
    .find((line) => line.startsWith('# be_id'))
    ?.slice(2)
    .split(' ');
  const row = lines.find((line) => line.split(' ')[3] === server)?.split(' ');
  return header && row ? row[header.indexOf(field)] : undefined;
}

/** Counters of one server in `show stat` (CSV), e.g. `scur` (its requests under way) and `qcur` (queued for it). */
async function serverStats(
  admin: (command: string) => Promise<string>,
  backend: string,
  server: string,
  fields: string[],
): Promise<Array<string | undefined>> {
  const lines = (await admin(`show stat ${backend} 4 -1`)).split('\n');
  const header = lines
    .find((line) => line.startsWith('# '))
    ?.slice(2)
    .split(',');
  const row = lines.find((line) => line.split(',')[1] === server)?.split(',');
  return fields.map((field) => (header && row ? row[header.indexOf(field)] : undefined));
}

async function waitUntilAnswering(admin: (command: string) => Promise<string>, exited: Promise<string>): Promise<void> {
  let how: string | undefined;
  void exited.then((reason) => (how = reason));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (how) throw new EdgeStartError(`HAProxy ${how} before it was listening: its output above says why`);
    if (
      await admin('show info').then(
        () => true,
        () => false,
      )
    )
      return;
    if (Date.now() > deadline) {
      throw new EdgeStartError(`HAProxy did not answer within ${READY_TIMEOUT_MS / 1000} s: its output above says why`);
    }
    await sleep(POLL_MS);
  }
}

async function pollUntil(timeoutMs: number, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done()) && Date.now() < deadline) await sleep(POLL_MS);
}
