import { startRedisServer, type RedisServer } from './redis.js';

/** Restarts within RESTART_WINDOW_MS beyond which a redis-server that keeps dying is left down. */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 60_000;

/** The stack's redis-server, kept running: its URL stays the same across restarts. */
export interface SupervisedRedis {
  url: string;
  port: number;
  /** Stops the server (and any restart under way); resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

/**
 * `pnpm start`'s throwaway redis-server, started again on the same port when it exits without
 * being asked to (killed, out of memory). Meanwhile the services serve uncached, as through any
 * Redis outage, and their clients reconnect by themselves once it is back; an empty Redis is
 * safe, since dataset versions are random tokens. Each event is reported (`report`, the
 * console's progress lines). A server that dies MAX_RESTARTS times within a minute is left
 * down: the stack then runs uncached, and says so.
 */
export async function startSupervisedRedis(report: (line: string) => void): Promise<SupervisedRedis> {
  let current: RedisServer = await startRedisServer();
  const { url, port } = current;
  let stopping = false;
  let restarting: Promise<void> | undefined;
  const restarts: number[] = [];

  const restart = async (): Promise<void> => {
    const now = Date.now();
    while (restarts.length > 0 && now - restarts[0]! > RESTART_WINDOW_MS) restarts.shift();
    if (restarts.length >= MAX_RESTARTS) {
      report(
        `redis: redis-server on port ${port} exited again (${MAX_RESTARTS} restarts within a minute): running WITHOUT the read cache from now on`,
      );
      return;
    }
    restarts.push(now);
    report(`redis: redis-server on port ${port} exited unexpectedly: the services serve uncached; restarting it …`);
    try {
      current = await startRedisServer({ port });
    } catch (error) {
      report(
        `redis: could not restart redis-server on port ${port} (${(error as Error).message}): running WITHOUT the read cache`,
      );
      return;
    }
    if (stopping) return;
    report(`redis: redis-server back on port ${port} ✓ (the services reconnect by themselves)`);
    watch(current);
  };
  const watch = (server: RedisServer): void => {
    void server.exited.then(() => {
      if (!stopping) restarting = restart();
    });
  };
  watch(current);

  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    stop: () =>
      (stopped ??= (async () => {
        stopping = true;
        await restarting;
        await current.stop();
      })()),
  };
}
