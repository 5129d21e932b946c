/**
 * The processes the bench measures, each a child process of its own on 127.0.0.1: a throwaway
 * embedded PostgreSQL and redis-server, todo-write, todo-read with the cache, todo-read
 * without it, and the ceiling server.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogLevel } from '@taskoverflow/http-kit';
import {
  buildServices,
  databaseUrlFor,
  ensureDatabase,
  findRedisServer,
  findFreePorts,
  migrateDatabase,
  serviceEntry,
  startBalancer,
  startEmbeddedPostgres,
  startRedisServer,
  startServiceProcess,
} from '@taskoverflow/stack';
import { HEALTH_PATH, type ServiceName } from '@taskoverflow/routing';
import { CEILING_ENTRY, ceilingEnv } from '../lib/ceiling.js';
import type { OutputDrain } from './output-drain.js';
import type { ServerRole } from './scenarios.js';
import type { CapturedResponse } from '../lib/seed.js';

const HOST = '127.0.0.1';
const DATABASE_NAME = 'taskoverflow';
/** The load balancer's SERVICE_INSTANCE-like name in progress lines and the report. */
const EDGE_INSTANCE = 'edge';

export interface BenchServer {
  /** Its name in progress lines and in its SERVICE_INSTANCE, e.g. `todo-read-uncached`. */
  instance: string;
  url: string;
  pid: number;
}

/** The stack and saturation scenarios' processes: two cached todo-read replicas and the load balancer in front. */
export interface BenchStack {
  edge: BenchServer;
  replicas: [BenchServer, BenchServer];
}

export interface BenchServersOptions {
  logLevel: LogLevel;
  /** Start the todo-read without a cache (only the uncached scenario needs it). */
  uncachedRead: boolean;
  output: OutputDrain;
  progress: (line: string) => void;
}

export class BenchServers {
  readonly #servers = new Map<ServerRole, BenchServer>();
  /** Undo steps of everything started so far, run newest first by stop(). */
  readonly #cleanup: Array<() => Promise<unknown>> = [];
  #stopping: Promise<void> | undefined;
  #tempDir = '';
  #redisUrl = '';
  #postgresAdminUrl = '';
  #databaseUrl = '';
  #stack: BenchStack | undefined;

  private constructor(private readonly options: BenchServersOptions) {}

  /** Starts PostgreSQL, Redis and the services; on failure, stops whatever had started and rethrows. */
  static async start(options: BenchServersOptions): Promise<BenchServers> {
    if (!findRedisServer()) {
      throw new Error(
        "redis-server is not on PATH; the bench runs a throwaway one for todo-read's cache. " +
          'Install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) and run pnpm bench again',
      );
    }
    const servers = new BenchServers(options);
    try {
      await servers.#startAll();
      return servers;
    } catch (error) {
      await servers.stop().catch(() => undefined);
      throw error;
    }
  }

  get redisUrl(): string {
    return this.#redisUrl;
  }

  /** A superuser URL of the `postgres` database, and the app's database's name: for PostgresStats. */
  get postgres(): { adminUrl: string; databaseName: string } {
    return { adminUrl: this.#postgresAdminUrl, databaseName: DATABASE_NAME };
  }

  /**
   * Starts (once) two more cached todo-read replicas, todo-read-1 and todo-read-2, and the load
   * balancer pnpm start runs (HAProxy when installed, else packages/edge, compiled) in front of
   * them and todo-write.
   * Everything logs to stdout, into the bench's drain, as the other servers do.
   */
  async startStack(): Promise<BenchStack> {
    if (this.#stack) return this.#stack;
    const env = { DATABASE_URL: this.#databaseUrl, REDIS_URL: this.#redisUrl, LOG_LEVEL: this.options.logLevel };
    const replicas = await Promise.all(
      ['todo-read-1', 'todo-read-2'].map((instance) =>
        this.#startProcess(undefined, instance, serviceEntry('todo-read'), env),
      ),
    );
    const startedAt = Date.now();
    const edge = await startBalancer({
      host: HOST,
      port: 0,
      upstreams: { 'todo-read': replicas.map((replica) => replica.url), 'todo-write': [this.server('write').url] },
      env: { LOG_LEVEL: this.options.logLevel },
      onLine: this.options.output.sink(EDGE_INSTANCE),
    });
    this.#cleanup.push(() => edge.stop());
    this.options.progress(
      `${EDGE_INSTANCE} (${edge.description}): ${edge.url} (pid ${edge.pid}) → todo-read-1, todo-read-2 ✓ ${since(startedAt)}`,
    );
    this.#stack = {
      edge: { instance: EDGE_INSTANCE, url: edge.url, pid: edge.pid },
      replicas: replicas as [BenchServer, BenchServer],
    };
    return this.#stack;
  }

  /** The server in that role; throws if the bench did not start one. */
  server(role: ServerRole): BenchServer {
    const server = this.#servers.get(role);
    if (!server) throw new Error(`no ${role} server was started`);
    return server;
  }

  /** Starts the ceiling server, sending `response`'s bytes with its headers. */
  async startCeiling(response: CapturedResponse): Promise<void> {
    if (this.#servers.has('ceiling')) return;
    await this.#startProcess('ceiling', 'ceiling', CEILING_ENTRY, await ceilingEnv(this.#tempDir, response));
  }

  /** Stops every process, newest first, and deletes the temporary data. Safe to call more than once. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const errors: unknown[] = [];
      for (const undo of [...this.#cleanup].reverse()) await undo().catch((error: unknown) => errors.push(error));
      if (errors.length > 0)
        throw new AggregateError(errors, `stopping the bench's processes failed: ${errors.map(String).join('; ')}`);
    })();
    return this.#stopping;
  }

  async #startAll(): Promise<void> {
    this.#tempDir = await mkdtemp(join(tmpdir(), 'taskoverflow-bench-'));
    this.#cleanup.push(() => rm(this.#tempDir, { recursive: true, force: true }));
    // mkdtemp makes it 0700; run as root, PostgreSQL runs as `postgres` and must enter it.
    await chmod(this.#tempDir, 0o755);

    const buildStartedAt = Date.now();
    // The services run compiled, under plain Node, as in their containers.
    await buildServices();
    this.options.progress(`build: tsc -b, services up to date ✓ ${since(buildStartedAt)}`);
    const databaseUrl = await this.#startPostgres();
    await this.#startRedis();

    this.#databaseUrl = databaseUrl;
    const serviceEnv = { DATABASE_URL: databaseUrl, LOG_LEVEL: this.options.logLevel };
    const withCache = { ...serviceEnv, REDIS_URL: this.#redisUrl };
    const starting = [
      this.#startService('write', 'todo-write', 'todo-write', withCache),
      this.#startService('cached-read', 'todo-read', 'todo-read-cached', withCache),
      ...(this.options.uncachedRead
        ? [this.#startService('uncached-read', 'todo-read', 'todo-read-uncached', serviceEnv)]
        : []),
    ];
    const failure = (await Promise.allSettled(starting)).find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
  }

  async #startPostgres(): Promise<string> {
    const startedAt = Date.now();
    const dataDir = join(this.#tempDir, 'postgres');
    // PostgreSQL's default settings (fsync on): the write figure should be a durable commit's.
    const postgres = await startEmbeddedPostgres({ dataDir });
    this.#cleanup.push(() => postgres.stop());
    await ensureDatabase(postgres.adminUrl, DATABASE_NAME);
    this.#postgresAdminUrl = postgres.adminUrl;
    const databaseUrl = databaseUrlFor(postgres.adminUrl, DATABASE_NAME);
    await migrateDatabase(databaseUrl);
    this.options.progress(`postgres: embedded, data in ${dataDir}, port ${postgres.port} ✓ ${since(startedAt)}`);
    return databaseUrl;
  }

  async #startRedis(): Promise<void> {
    const redis = await startRedisServer();
    this.#cleanup.push(() => redis.stop());
    this.#redisUrl = redis.url;
    this.options.progress(`redis-server: port ${redis.port} (throwaway, no persistence) ✓`);
  }

  async #startService(
    role: ServerRole,
    service: ServiceName,
    instance: string,
    env: Record<string, string>,
  ): Promise<void> {
    await this.#startProcess(role, instance, serviceEntry(service), env);
  }

  /** Starts a server process; `role` undefined: one of the stack's, which startStack() keeps. */
  async #startProcess(
    role: ServerRole | undefined,
    instance: string,
    entry: string,
    env: Record<string, string>,
  ): Promise<BenchServer> {
    const startedAt = Date.now();
    const [port] = await findFreePorts(1, HOST);
    const url = `http://${HOST}:${port}`;
    const process_ = await startServiceProcess({
      instance,
      entry,
      env: { HOST, PORT: String(port), SERVICE_INSTANCE: instance, ...env },
      healthUrl: `${url}${HEALTH_PATH}`,
      onLine: this.options.output.sink(instance),
    });
    this.#cleanup.push(() => process_.stop());
    const server = { instance, url, pid: process_.pid };
    if (role) this.#servers.set(role, server);
    this.options.progress(`${instance}: ${url} (pid ${process_.pid}) ✓ ${since(startedAt)}`);
    return server;
  }
}

function since(startedAt: number): string {
  return `(${((Date.now() - startedAt) / 1000).toFixed(1)} s)`;
}
