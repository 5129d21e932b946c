import { setTimeout as sleep } from 'node:timers/promises';
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import type { BaseServiceConfig } from './config.js';

/**
 * How long in-flight requests get to finish after SIGTERM before the process exits anyway.
 * ECS's stopTimeout (infra) must be longer.
 */
export const SHUTDOWN_GRACE_MS = 10_000;

export interface RunServiceOptions<Config extends BaseServiceConfig> {
  name: string;
  loadConfig: () => Config;
  build: (config: Config) => Promise<FastifyInstance>;
}

/**
 * The whole of a service's `server.ts`: read the config, build the app, listen, and on
 * SIGTERM/SIGINT drain (SHUTDOWN_DRAIN_MS), stop accepting, let in-flight requests finish,
 * close pools, exit.
 * Start-up failures (including a `build` that checks its connections) print what went wrong and exit 1.
 */
export async function runService<Config extends BaseServiceConfig>(options: RunServiceOptions<Config>): Promise<void> {
  let app: FastifyInstance;
  let config: Config;
  try {
    config = options.loadConfig();
    app = await options.build(config);
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    // The project's own errors (TASKOVERFLOW_* codes) name the problem and the fix: one line.
    const ownError = String((error as { code?: unknown }).code).startsWith('TASKOVERFLOW_');
    const reason = ownError ? (error as Error).message : ((error as Error).stack ?? String(error));
    process.stderr.write(`${options.name} failed to start: ${reason}\n`);
    process.exit(1);
  }
  const drainMs = config.shutdownDrainMs;
  closeWithGrace({ delay: drainMs + SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err) {
      app.log.error({ err }, 'shutting down after a fatal error');
    } else if (drainMs > 0) {
      app.startDraining();
      app.log.info({ signal, drain_ms: drainMs }, 'draining: failing health checks, still serving, before closing');
      await sleep(drainMs);
    }
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    await app.close();
  });
}
