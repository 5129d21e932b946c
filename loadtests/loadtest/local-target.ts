/**
 * The system under test when no ENDPOINT is given: the local split stack, as `pnpm start`
 * runs it (PostgreSQL, Redis, todo-write, todo-read replicas, the load-balancer stand-in),
 * but on a free port, with a fresh database, and logging to the run's own directory.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServices, startLocalStack, type LocalStack } from '@taskoverflow/stack';

export interface LocalTargetOptions {
  /** Use this PostgreSQL database; unset, a throwaway embedded PostgreSQL. */
  databaseUrl?: string;
  /** Use this Redis; unset, a throwaway redis-server from PATH (as pnpm start). */
  redisUrl?: string;
  readReplicas: number;
  /** Extra environment for every service process. */
  serviceEnv?: Record<string, string>;
  /** Where the instances' JSON log lines go, one file per instance, for `pnpm trace --logs`. */
  logDir: string;
}

export interface LocalTarget {
  url: string;
  /** e.g. `todo-write ×1, todo-read ×2, redis cache` */
  description: string;
  stop(): Promise<void>;
}

export async function startLocalTarget(options: LocalTargetOptions): Promise<LocalTarget> {
  // The services and the edge run compiled, as in their containers.
  await buildServices();
  // A fresh embedded PostgreSQL per run: every run starts from the same seeded data, and
  // never touches pnpm start's .data/postgres (which may be in use).
  const dataRoot = options.databaseUrl ? undefined : await mkdtemp(join(tmpdir(), 'taskoverflow-loadtest-'));
  let stack: LocalStack;
  try {
    // mkdtemp makes it 0700; run as root, PostgreSQL runs as `postgres` and must enter it.
    if (dataRoot) await chmod(dataRoot, 0o755);
    stack = await startLocalStack({
      ...(options.databaseUrl && { databaseUrl: options.databaseUrl }),
      ...(options.redisUrl && { redisUrl: options.redisUrl }),
      ...(dataRoot && { dataDir: join(dataRoot, 'postgres') }),
      readReplicas: options.readReplicas,
      ...(options.serviceEnv && { serviceEnv: options.serviceEnv }),
      port: 0,
      logDir: options.logDir,
      quiet: true,
    });
  } catch (error) {
    if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
    throw error;
  }
  const count = (service: string): number => stack.services.filter((instance) => instance.service === service).length;
  return {
    url: stack.url,
    description: `todo-write ×${count('todo-write')}, todo-read ×${count('todo-read')}, ${stack.redisUrl ? 'Redis cache' : 'NO cache (no redis-server on PATH)'}`,
    async stop() {
      try {
        await stack.stop();
      } finally {
        if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
      }
    },
  };
}
