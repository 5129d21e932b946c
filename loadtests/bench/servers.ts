/**
 * The processes the bench measures, each a child process of its own on 127.0.0.1: a throwaway
 * embedded PostgreSQL and redis-server, todo-write, todo-read with the cache, todo-read
 * without it, and the ceiling server.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogLevel } from '@taskoverflow/http-kit';
import {
  buildServices,
  databaseUrlFor,
  ensureDatabase,
  findRedisServer,
  migrateDatabase,
  startEmbeddedPostgres,
  startRedisServer,
} from '@taskoverflow/stack';
import type { ServiceName } from '@taskoverflow/routing';
import type { OutputDrain } from './output-drain.js';
import type { ServerRole } from './scenarios.js';
import type { CapturedResponse } from './seed.js';
import { findFreePorts, repoRoot, serviceEntry, startServiceProcess } from './stack-internals.js';

const HOST = '127.0.0.1';
const DATABASE_NAME = 'taskoverflow';
const HEALTH_PATH = '/api/v1/health';
const CEILING_ENTRY = join(repoRoot, 'loadtests', 'bench', 'ceiling-server.ts');

export interface BenchServer {
  /** Its name in progress lines and in its SERVICE_INSTANCE, e.g. `todo-read-uncached`. */
  instance: string;
  url: string;
  pid: number;
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

  /** The server in that role; throws if the bench did not start one. */
  server(role: ServerRole): BenchServer {
    const server = this.#servers.get(role);
    if (!server) throw new Error(`no ${role} server was started`);
    return server;
  }

  /** Starts the ceiling server, sending `response`'s bytes with its headers. */
  async startCeiling(response: CapturedResponse): Promise<void> {
    const bodyFile = join(this.#tempDir, 'ceiling-body');
    await writeFile(bodyFile, response.body);
    await this.#startProcess('ceiling', 'ceiling', CEILING_ENTRY, {
      CEILING_BODY_FILE: bodyFile,
      CEILING_HEADERS: JSON.stringify(response.headers),
    });
  }

  /** Stops every process, newest first, and deletes the temporary data. Safe to call more than once. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const errors: unknown[] = [];
      for (const undo of [...this.#cleanup].reverse()) await undo().catch((error: unknown) => errors.push(error));
      if (errors.length > 0) throw new AggregateError(errors, `stopping the bench's processes failed: ${errors.map(String).join('; ')}`);
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

    const serviceEnv = { DATABASE_URL: databaseUrl, LOG_LEVEL: this.options.logLevel };
    const withCache = { ...serviceEnv, REDIS_URL: this.#redisUrl };
    const starting = [
      this.#startService('write', 'todo-write', 'todo-write', withCache),
      this.#startService('cached-read', 'todo-read', 'todo-read-cached', withCache),
      ...(this.options.uncachedRead ? [this.#startService('uncached-read', 'todo-read', 'todo-read-uncached', serviceEnv)] : []),
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

  #startService(role: ServerRole, service: ServiceName, instance: string, env: Record<string, string>): Promise<void> {
    return this.#startProcess(role, instance, serviceEntry(service), env);
  }

  async #startProcess(role: ServerRole, instance: string, entry: string, env: Record<string, string>): Promise<void> {
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
    this.#servers.set(role, { instance, url, pid: process_.pid });
    this.options.progress(`${instance}: ${url} (pid ${process_.pid}) ✓ ${since(startedAt)}`);
  }
}

function since(startedAt: number): string {
  return `(${((Date.now() - startedAt) / 1000).toFixed(1)} s)`;
}
