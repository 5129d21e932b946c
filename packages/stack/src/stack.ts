import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { HEALTH_PATH, type ServiceName } from '@taskoverflow/routing';
import { startEdgeProcess } from './edge-process.js';
import { redactPassword } from '@taskoverflow/config';
import { databaseUrlFor, ensureDatabase, ensureLocalServiceRoles, migrateDatabase, serviceDatabaseUrl } from './database.js';
import { assertPortFree, findFreePorts } from './free-port.js';
import { repoRoot, serviceEntry } from './paths.js';
import { startEmbeddedPostgres } from './postgres.js';
import { startServiceProcess, type ServiceProcess } from './processes.js';
import { findRedisServer, REDIS_INSTALL_HINT, startRedisServer } from './redis.js';
import { StackConsole, type ConsoleStream } from './stack-console.js';

export interface LocalStackOptions {
  /**
   * Use this database instead of starting an embedded PostgreSQL. Migrations run on it either
   * way, as this URL's role, which must also be allowed to create roles: the services connect
   * as their own least-privilege roles (taskoverflow_read, taskoverflow_write).
   */
  databaseUrl?: string;
  /**
   * Use this Redis for todo-read's cache. Unset: a throwaway redis-server from PATH, or no
   * cache at all when there is none (said in the progress output).
   */
  redisUrl?: string;
  /**
   * Each instance's JSON log lines go to `<logDir>/<instance>.log` (todo-read-1.log, edge.log…),
   * which the services write themselves (LOG_FILE). The `*.log` files already there are deleted
   * at start, so that `pnpm trace` reads this run's lines only. Default: a new temporary
   * directory, deleted by stop().
   */
  logDir?: string;
  /** Extra environment for every service process (overrides the stack's own), e.g. SHED_EVENT_LOOP_DELAY_MS. */
  serviceEnv?: Record<string, string>;
  /** todo-read replicas behind the edge. Default: 2. */
  readReplicas?: number;
  /** The edge's port on 127.0.0.1. Default: 8080; 0 picks a free one. */
  port?: number;
  /** Data directory of the embedded PostgreSQL. Default: <repo>/.data/postgres. */
  dataDir?: string;
  /** Print neither progress nor the services' warnings nor their summary. */
  quiet?: boolean;
  /**
   * Show every log line of every instance on the console (LOG_FORMAT=pretty, `pnpm start
   * --pretty`) instead of warnings, errors and a summary per instance. The services then print
   * every line and this process writes their log files: costly under load.
   */
  everyLine?: boolean;
  /** Where the console text goes. Default: process.stdout. */
  console?: ConsoleStream;
}

export interface ServiceInstance {
  service: ServiceName;
  /** e.g. `todo-read-2`; the services log it as SERVICE_INSTANCE. */
  instance: string;
  url: string;
}

export interface LocalStack {
  /** The edge's base URL: where clients send requests. */
  url: string;
  /** The edge's process id (it runs as a child process), e.g. to read its CPU time. */
  edgePid: number;
  readUrls: string[];
  writeUrl: string;
  databaseUrl: string;
  /** Undefined when the stack runs without a cache. */
  redisUrl: string | undefined;
  logDir: string;
  /** An instance's log file, e.g. `<logDir>/todo-read-1.log`. */
  logFile(instance: string): string;
  /** The service instances running now, todo-write first. */
  readonly services: ServiceInstance[];
  /**
   * Rolling restart of one instance: starts its replacement, adds it to the edge once
   * healthy, then SIGTERMs the old one (which drains before it closes) and removes it.
   */
  restart(instance: string): Promise<ServiceInstance>;
  /** SIGTERMs one instance (it drains, then closes) and removes it from the edge. */
  stopInstance(instance: string): Promise<void>;
  /** Stops the edge, then the services, then PostgreSQL. Safe to call more than once. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const DATABASE_NAME = 'taskoverflow';
const DEFAULT_EDGE_PORT = 8080;
const DEFAULT_READ_REPLICAS = 2;

/**
 * Runs the split stack on this machine: PostgreSQL (embedded unless a databaseUrl is given),
 * migrations, todo-write, the todo-read replicas and the edge in front of them.
 *
 * The edge runs as a child process of its own (edge-process.ts), as the services do: proxying
 * costs CPU on every request, and in this process it would share one core with whatever this
 * process does. Replicas are registered and deregistered over its IPC channel.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const readReplicas = options.readReplicas ?? DEFAULT_READ_REPLICAS;
  const edgePort = options.port ?? DEFAULT_EDGE_PORT;
  if (!Number.isInteger(readReplicas) || readReplicas < 1) {
    throw new Error(`readReplicas must be a whole number of at least 1 (got ${readReplicas})`);
  }
  const shutdown = new ShutdownSteps();
  const logDir = options.logDir ?? temporaryDirectory('taskoverflow-logs-', shutdown);
  const output = stackOutput(options, logDir, shutdown);

  try {
    // Fail on what is cheap to check before spending seconds on PostgreSQL and the services.
    if (edgePort !== 0) await assertPortFree(HOST, edgePort);
    assertServicesExist();

    const databaseUrl = options.databaseUrl ?? (await startDatabase(options, output, shutdown));
    if (options.databaseUrl) output.progress(`postgres: ${redactPassword(databaseUrl)} (given) ✓`);
    const applied = await migrateDatabase(databaseUrl);
    output.progress(`migrations: ${applied.length > 0 ? `applied ${applied.join(', ')}` : 'up to date'} ✓`);
    await ensureLocalServiceRoles(databaseUrl);

    const redisUrl = await startCache(options, output, shutdown);
    const fleet = new ServiceFleet({ databaseUrl, redisUrl, extra: options.serviceEnv ?? {} }, output);
    shutdown.add(() => fleet.stopAll());
    const starting = [fleet.start('todo-write'), ...Array.from({ length: readReplicas }, () => fleet.start('todo-read'))];
    const failure = (await Promise.allSettled(starting)).find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
    const upstreams = {
      'todo-read': fleet
        .instances()
        .filter((s) => s.service === 'todo-read')
        .map((s) => s.url),
      'todo-write': fleet
        .instances()
        .filter((s) => s.service === 'todo-write')
        .map((s) => s.url),
    };

    const edge = await startEdgeProcess({
      host: HOST,
      port: edgePort,
      upstreams,
      env: { LOG_LEVEL: process.env.LOG_LEVEL || 'info', ...output.logEnv('edge') },
      onLine: (line) => output.printed('edge', line),
    });
    shutdown.add(() => edge.stop());
    const { url } = edge;
    const replicaCounts = `todo-read ×${upstreams['todo-read'].length}, todo-write ×${upstreams['todo-write'].length}`;
    output.progress(`edge: ${url} → ${replicaCounts} ✓`);

    return {
      url,
      edgePid: edge.pid,
      readUrls: upstreams['todo-read'],
      writeUrl: upstreams['todo-write'][0]!,
      databaseUrl,
      redisUrl,
      logDir,
      logFile: (instance) => logFilePath(logDir, instance),
      get services() {
        return fleet.instances();
      },
      async restart(instance) {
        const { service, url } = fleet.instances().find((running) => running.instance === instance) ?? {};
        if (!service || !url) throw new Error(`no running instance named ${instance}`);
        const replacement = await fleet.start(service);
        await edge.register(service, replacement.url);
        await fleet.stop(instance);
        await edge.deregister(service, url);
        output.progress(`${instance} replaced by ${replacement.instance} ✓`);
        return replacement;
      },
      async stopInstance(instance) {
        const stopped = await fleet.stop(instance);
        await edge.deregister(stopped.service, stopped.url);
      },
      stop: () => shutdown.run(),
    };
  } catch (error) {
    // The start-up error is what the caller needs; a failure to clean up after it would hide it.
    await shutdown.run().catch(() => undefined);
    throw error;
  }
}

/** Starts the embedded PostgreSQL and creates the app's database; returns its URL. */
async function startDatabase(options: LocalStackOptions, output: StackOutput, shutdown: ShutdownSteps): Promise<string> {
  const dataDir = options.dataDir ?? join(repoRoot, '.data', 'postgres');
  const startedAt = Date.now();
  // Its log is left out: on the console it would bury the services' lines.
  const postgres = await startEmbeddedPostgres({ dataDir });
  shutdown.add(() => postgres.stop());
  await ensureDatabase(postgres.adminUrl, DATABASE_NAME);

  // As root, it may have moved to where the postgres user can reach it: say where it is.
  const shownDir = relative(repoRoot, postgres.dataDir).startsWith('..') ? postgres.dataDir : relative(repoRoot, postgres.dataDir);
  const created = postgres.created ? ' (new)' : '';
  output.progress(`postgres: embedded, data in ${shownDir}${created}, port ${postgres.port} ✓ ${since(startedAt)}`);
  return databaseUrlFor(postgres.adminUrl, DATABASE_NAME);
}

/** The cache's Redis: the given one, a throwaway redis-server, or none (the stack runs uncached). */
async function startCache(options: LocalStackOptions, output: StackOutput, shutdown: ShutdownSteps): Promise<string | undefined> {
  if (options.redisUrl) {
    output.progress(`redis: ${redactPassword(options.redisUrl)} (given) ✓`);
    return options.redisUrl;
  }
  if (!findRedisServer()) {
    output.progress(`redis: redis-server not found, running WITHOUT the read cache (${REDIS_INSTALL_HINT})`);
    return undefined;
  }
  const startedAt = Date.now();
  const redis = await startRedisServer();
  shutdown.add(() => redis.stop());
  output.progress(`redis: redis-server on port ${redis.port} (throwaway, no persistence) ✓ ${since(startedAt)}`);
  return redis.url;
}

/**
 * How long a stopping service keeps serving while failing its health check: three of the
 * edge's 500 ms health-check intervals, so the edge has taken it out of rotation before it
 * closes. This is what makes a SIGTERM lose no request.
 */
const SHUTDOWN_DRAIN_MS = 1_500;

/** The running service processes, each by its instance name (todo-read-2). */
class ServiceFleet {
  readonly #running = new Map<string, { instance: ServiceInstance; process: ServiceProcess }>();
  readonly #started: Record<ServiceName, number> = { 'todo-read': 0, 'todo-write': 0 };

  constructor(
    private readonly env: { databaseUrl: string; redisUrl: string | undefined; extra: Record<string, string> },
    private readonly output: StackOutput,
  ) {}

  /** todo-write first, then the todo-read replicas, each by number. */
  instances(): ServiceInstance[] {
    return [...this.#running.values()]
      .map((entry) => entry.instance)
      .sort((a, b) =>
        a.service === b.service ? a.instance.localeCompare(b.instance, undefined, { numeric: true }) : a.service === 'todo-write' ? -1 : 1,
      );
  }

  /** Starts one more instance of `service` on a free port; resolves once it is healthy. */
  async start(service: ServiceName): Promise<ServiceInstance> {
    const instance = `${service}-${(this.#started[service] += 1)}`;
    const [port] = await findFreePorts(1, HOST);
    const url = `http://${HOST}:${port}`;
    const startedAt = Date.now();
    const process_ = await startServiceProcess({
      instance,
      entry: serviceEntry(service),
      env: {
        HOST,
        PORT: String(port),
        // Its own least-privilege role, as on AWS: todo-read reads, todo-write changes rows.
        DATABASE_URL: serviceDatabaseUrl(this.env.databaseUrl, service),
        ...(this.env.redisUrl && { REDIS_URL: this.env.redisUrl }),
        LOG_LEVEL: process.env.LOG_LEVEL || 'info',
        SERVICE_INSTANCE: instance,
        SHUTDOWN_DRAIN_MS: String(SHUTDOWN_DRAIN_MS),
        ...this.output.logEnv(instance),
        ...this.env.extra,
      },
      healthUrl: `${url}${HEALTH_PATH}`,
      onLine: (line) => this.output.printed(instance, line),
    });
    const started = { service, instance, url };
    this.#running.set(instance, { instance: started, process: process_ });
    this.output.progress(`${instance}: ${url} ✓ ${since(startedAt)}`);
    return started;
  }

  /** SIGTERM (the instance drains, then closes), resolving once it has exited. */
  async stop(instance: string): Promise<ServiceInstance> {
    const entry = this.#running.get(instance);
    if (!entry) throw new Error(`no running instance named ${instance}; running: ${[...this.#running.keys()].join(', ')}`);
    await entry.process.stop();
    this.#running.delete(instance);
    this.output.stopped(instance);
    return entry.instance;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#running.keys()].map((instance) => this.stop(instance)));
  }
}

function assertServicesExist(): void {
  for (const service of ['todo-write', 'todo-read'] as const) {
    const entry = serviceEntry(service);
    if (!existsSync(entry)) {
      throw new Error(`${service} is not built: ${relative(repoRoot, entry)} does not exist; run \`pnpm build\` (tsc -b) first`);
    }
  }
}

interface StackOutput {
  /** A line about the start-up, e.g. `todo-read-1: http://127.0.0.1:41234 ✓`. */
  progress(line: string): void;
  /** How an instance logs: the environment for its LOG_FILE and LOG_FORMAT. */
  logEnv(instance: string): Record<string, string>;
  /**
   * A line an instance (a service, the edge) printed: its warnings, errors and `stats` lines,
   * or anything it wrote outside its logger (a crash). In every-line mode, every log line,
   * which is filed here.
   */
  printed(instance: string, line: string): void;
  /** The instance has stopped. */
  stopped(instance: string): void;
}

/**
 * The log files in logDir, and unless quiet the console: progress, and of the instances' lines
 * what a person at a terminal needs (or, with everyLine, all of them).
 */
function stackOutput(options: LocalStackOptions, logDir: string, shutdown: ShutdownSteps): StackOutput {
  const everyLine = options.everyLine ?? false;
  const logFiles = new LogFiles(logDir);
  shutdown.add(() => logFiles.close());
  const console = options.quiet ? undefined : new StackConsole(options.console ?? process.stdout, everyLine);
  if (console) shutdown.add(async () => console.close());
  return {
    progress: (line) => console?.progress(line),
    logEnv: (instance) => ({ LOG_FORMAT: 'json', ...(!everyLine && { LOG_FILE: logFiles.pathOf(instance) }) }),
    printed: (instance, line) => {
      if (everyLine) logFiles.write(instance, line);
      console?.instanceLine(instance, line);
    },
    stopped: (instance) => console?.instanceStopped(instance),
  };
}

/**
 * `<dir>/<instance>.log`, one per instance: the local stand-in for CloudWatch's log streams,
 * read by `pnpm trace`. One file per writer, so that no two processes append to one file.
 * Each instance writes its own (LOG_FILE), but in every-line mode this process writes them.
 */
class LogFiles {
  readonly #streams = new Map<string, WriteStream>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    for (const name of readdirSync(dir)) {
      if (name.endsWith('.log')) rmSync(join(dir, name), { force: true });
    }
  }

  pathOf(instance: string): string {
    return logFilePath(this.dir, instance);
  }

  write(instance: string, line: string): void {
    let stream = this.#streams.get(instance);
    if (!stream) {
      stream = createWriteStream(this.pathOf(instance), { flags: 'w' });
      this.#streams.set(instance, stream);
    }
    stream.write(`${line}\n`);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#streams.values()].map((stream) => new Promise((resolve) => stream.end(resolve))));
  }
}

/** A new directory under the system's, deleted by the last shutdown step (this one is added first). */
function temporaryDirectory(prefix: string, shutdown: ShutdownSteps): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  shutdown.add(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function logFilePath(logDir: string, instance: string): string {
  return join(logDir, `${instance}.log`);
}

/** Cleanup steps, run newest first; each runs even if an earlier one failed, and only once. */
class ShutdownSteps {
  readonly #steps: Array<() => Promise<unknown>> = [];
  #running: Promise<void> | undefined;

  add(step: () => Promise<unknown>): void {
    this.#steps.push(step);
  }

  run(): Promise<void> {
    this.#running ??= this.#runAll();
    return this.#running;
  }

  async #runAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const step of [...this.#steps].reverse()) {
      await step().catch((error: unknown) => errors.push(error));
    }
    if (errors.length > 0) throw new AggregateError(errors, `stopping the local stack failed: ${errors.map(String).join('; ')}`);
  }
}

function since(startedAt: number): string {
  return `(${((Date.now() - startedAt) / 1000).toFixed(1)} s)`;
}
