import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnDetachedChild } from './detached-child.js';
import { RedisNotFoundError, RedisStartError } from './errors.js';
import { findFreePorts } from './free-port.js';
import { findOnPath, stopChild } from './processes.js';

export interface RedisServer {
  url: string;
  port: number;
  /** The redis-server process, e.g. to freeze it with SIGSTOP. */
  pid: number;
  /** SIGTERM, then SIGKILL after STOP_GRACE_MS (5 s); resolves once the server has exited. Idempotent. */
  stop(): Promise<void>;
  /** Resolves once the server has exited, asked to by stop() or not (see startSupervisedRedis). */
  exited: Promise<void>;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;

/** The redis-server binary on PATH, or undefined. */
export function findRedisServer(): string | undefined {
  return findOnPath('redis-server');
}

/** What to tell someone who has no redis-server. */
export const REDIS_INSTALL_HINT =
  'install Redis (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL';

/**
 * Starts a throwaway redis-server on loopback: a cache, so no persistence (`--save ''`, no
 * AOF), and gone when it stops. Resolves once it answers PING.
 */
export async function startRedisServer(options: { port?: number } = {}): Promise<RedisServer> {
  const binary = findRedisServer();
  if (!binary) throw new RedisNotFoundError(REDIS_INSTALL_HINT);
  const port = options.port ?? (await findFreePorts(1, HOST))[0]!;
  const child = spawnDetachedChild(
    binary,
    ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      orphanSignal: 'SIGKILL', // a cache: nothing to save
    },
  );
  const output: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n').filter(Boolean)) output.push(line);
    });
  }
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));

  let stopping: Promise<void> | undefined;
  const server: RedisServer = {
    url: `redis://${HOST}:${port}`,
    port,
    pid: child.pid!,
    stop: () => (stopping ??= stopChild(child, exited, STOP_GRACE_MS)),
    exited,
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await answersPing(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await server.stop();
      throw new RedisStartError(port, output.slice(-10).join('\n  '));
    }
    await sleep(50);
  }
  return server;
}

async function answersPing(port: number): Promise<boolean> {
  const socket = connect({ host: HOST, port });
  try {
    await once(socket, 'connect');
    socket.write('PING\r\n');
    const [data] = (await once(socket, 'data')) as [Buffer];
    return data.toString().startsWith('+PONG');
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}
