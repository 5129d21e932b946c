import { existsSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { redactPassword } from '@taskoverflow/config';
import {
  checkConnection,
  databaseUrlFor,
  describeMigrationRun,
  ensureDatabase,
  ensureLocalServiceRoles,
  migrateDatabase,
} from './database.js';
import { startBalancer, type BalancerKind } from './balancer.js';
import { NotBuiltError, ReadReplicasError } from './errors.js';
import { assertPortFree } from './free-port.js';
import { logFilePath } from './log-files.js';
import { repoRoot, serviceEntry } from './paths.js';
import { startEmbeddedPostgres } from './postgres.js';
import { findRedisServer, REDIS_INSTALL_HINT } from './redis.js';
import { ServiceFleet, type ServiceInstance } from './service-fleet.js';
import { ShutdownSteps } from './shutdown-steps.js';
import { startSupervisedRedis } from './supervised-redis.js';
import type { ConsoleStream } from './stack-console.js';
import { since, stackOutput, type StackOutput } from './stack-output.js';

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
  /**
   * Which balancer is the edge: `haproxy`, `node` or `auto` (HAProxy when on PATH). Default:
   * TASKOVERFLOW_BALANCER, else `auto` (balancer.ts).
   */
  balancer?: string;
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
  /**
   * Aborting it cuts the start short: the step under way finishes, what has started is stopped,
   * and startLocalStack rejects with the signal's reason.
   */
  signal?: AbortSignal;
}

export interface LocalStack {
  /** The edge's base URL: where clients send requests. */
  url: string;
  /** The edge's process id (it runs as a child process), e.g. to read its CPU time. */
  edgePid: number;
  /** Which balancer is the edge, and what ran: `HAProxy 2.6.12`, `Node edge`. */
  balancer: { kind: BalancerKind; description: string };
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
 * The edge runs as a child process of its own (balancer.ts: HAProxy or the Node edge), as the
 * services do: proxying costs CPU on every request, and in this process it would share one core
 * with whatever this process does. Replicas are registered and deregistered over its control
 * channel (the Node edge's IPC channel, HAProxy's runtime API).
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const readReplicas = options.readReplicas ?? DEFAULT_READ_REPLICAS;
  const edgePort = options.port ?? DEFAULT_EDGE_PORT;
  if (!Number.isInteger(readReplicas) || readReplicas < 1) {
    throw new ReadReplicasError(readReplicas);
  }
  const shutdown = new ShutdownSteps();
  const logDir = options.logDir ?? temporaryDirectory('taskoverflow-logs-', shutdown);
  const output = stackOutput(
    {
      logDir,
      quiet: options.quiet ?? false,
      everyLine: options.everyLine ?? false,
      console: options.console ?? process.stdout,
    },
    shutdown,
  );

  try {
    // Fail on what is cheap to check before spending seconds on PostgreSQL and the services.
    if (edgePort !== 0) await assertPortFree(HOST, edgePort);
    assertServicesExist();

    const databaseUrl = options.databaseUrl ?? (await startDatabase(options, output, shutdown));
    if (options.databaseUrl) {
      await checkConnection(databaseUrl);
      output.progress(`postgres: ${redactPassword(databaseUrl)} (given) ✓`);
    }
    options.signal?.throwIfAborted();
    output.progress(`migrations: ${describeMigrationRun(await migrateDatabase(databaseUrl))} ✓`);
    await ensureLocalServiceRoles(databaseUrl);

    options.signal?.throwIfAborted();
    const redisUrl = await startCache(options, output, shutdown);
    options.signal?.throwIfAborted();
    const fleet = new ServiceFleet({ host: HOST, databaseUrl, redisUrl, extraEnv: options.serviceEnv ?? {} }, output);
    shutdown.add(() => fleet.stopAll());
    const starting = [
      fleet.start('todo-write'),
      ...Array.from({ length: readReplicas }, () => fleet.start('todo-read')),
    ];
    const failure = (await Promise.allSettled(starting)).find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
    options.signal?.throwIfAborted();
    const upstreams = { 'todo-read': fleet.urls('todo-read'), 'todo-write': fleet.urls('todo-write') };

    const edge = await startBalancer({
      ...(options.balancer !== undefined && { kind: options.balancer }),
      host: HOST,
      port: edgePort,
      upstreams,
      env: { LOG_LEVEL: process.env.LOG_LEVEL || 'info', ...output.logEnv('edge') },
      onLine: (line) => output.printed('edge', line),
    });
    shutdown.add(() => edge.stop());
    const { url } = edge;
    const replicaCounts = `todo-read ×${upstreams['todo-read'].length}, todo-write ×${upstreams['todo-write'].length}`;
    output.progress(`edge (${edge.description}): ${url} → ${replicaCounts} ✓`);

    return {
      url,
      edgePid: edge.pid,
      balancer: { kind: edge.kind, description: edge.description },
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
        const { service, url } = fleet.get(instance);
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
async function startDatabase(
  options: LocalStackOptions,
  output: StackOutput,
  shutdown: ShutdownSteps,
): Promise<string> {
  const dataDir = options.dataDir ?? join(repoRoot, '.data', 'postgres');
  const startedAt = Date.now();
  // Its log is left out: on the console it would bury the services' lines.
  const postgres = await startEmbeddedPostgres({ dataDir });
  shutdown.add(() => postgres.stop());
  await ensureDatabase(postgres.adminUrl, DATABASE_NAME);

  // As root, it may have moved to where the postgres user can reach it: say where it is.
  const shownDir = relative(repoRoot, postgres.dataDir).startsWith('..')
    ? postgres.dataDir
    : relative(repoRoot, postgres.dataDir);
  const created = postgres.created ? ' (new)' : '';
  output.progress(`postgres: embedded, data in ${shownDir}${created}, port ${postgres.port} ✓ ${since(startedAt)}`);
  return databaseUrlFor(postgres.adminUrl, DATABASE_NAME);
}

/** The cache's Redis: the given one, a throwaway redis-server, or none (the stack runs uncached). */
async function startCache(
  options: LocalStackOptions,
  output: StackOutput,
  shutdown: ShutdownSteps,
): Promise<string | undefined> {
  if (options.redisUrl) {
    output.progress(`redis: ${redactPassword(options.redisUrl)} (given) ✓`);
    return options.redisUrl;
  }
  if (!findRedisServer()) {
    output.progress(`redis: redis-server not found, running WITHOUT the read cache (${REDIS_INSTALL_HINT})`);
    return undefined;
  }
  const startedAt = Date.now();
  // Restarted if it dies; the services serve uncached meanwhile (supervised-redis.ts).
  const redis = await startSupervisedRedis((line) => output.progress(line));
  shutdown.add(() => redis.stop());
  output.progress(`redis: redis-server on port ${redis.port} (throwaway, no persistence) ✓ ${since(startedAt)}`);
  return redis.url;
}

function assertServicesExist(): void {
  for (const service of ['todo-write', 'todo-read'] as const) {
    const entry = serviceEntry(service);
    if (!existsSync(entry)) {
      throw new NotBuiltError(service, relative(repoRoot, entry));
    }
  }
}

/** A new directory under the system's, deleted by the last shutdown step (this one is added first). */
function temporaryDirectory(prefix: string, shutdown: ShutdownSteps): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  shutdown.add(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
