import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import type { EdgeControlRequest, EdgeMessage } from '@taskoverflow/edge';
import { EDGE_SERVICE } from '@taskoverflow/observability';
import type { ServiceName } from '@taskoverflow/routing';
import { spawnDetachedChild } from './detached-child.js';
import { EdgeControlError, EdgeStartError, NotBuiltError, PortInUseError } from './errors.js';
import { repoRoot } from './paths.js';
import { READY_TIMEOUT_MS, stopChild } from './processes.js';

/** The edge's compiled entry: it runs under plain Node, as in its container. */
export const EDGE_ENTRY = join(repoRoot, 'packages', 'edge', 'dist', 'server.js');

export interface EdgeProcessOptions {
  host: string;
  /** 0 picks a free port; `url` says which. */
  port: number;
  upstreams: Record<ServiceName, string[]>;
  /** Added to the edge's environment, e.g. LOG_LEVEL, LOG_FILE, EDGE_MAX_QUEUE_WAIT_MS. */
  env?: Record<string, string>;
  /** Receives every line the edge prints, stdout and stderr. */
  onLine: (line: string) => void;
  /** Default: EDGE_ENTRY; a `.ts` entry runs through tsx, with workspace packages from their src/. */
  entry?: string;
  /** The name the load test's process sampler knows it by (its SERVICE_INSTANCE). Default: `edge`. */
  instance?: string;
}

export interface EdgeProcess {
  url: string;
  /** The operating system's process id, e.g. to read its CPU time from /proc. */
  pid: number;
  /** Adds a replica; resolves once the edge has health-checked it (it takes traffic if it passed). */
  register(service: ServiceName, url: string): Promise<void>;
  /** Removes a replica: no new request goes to it; resolves once its requests are done. */
  deregister(service: ServiceName, url: string): Promise<void>;
  /** SIGTERM: the edge finishes the requests in progress, then exits. Safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * Runs the edge (@taskoverflow/edge) as a child process with an IPC channel, its control
 * channel (see control.ts there): it reports its address over it and takes register and
 * deregister requests. In a process of its own it has a core's worth of CPU to itself rather
 * than a share of the process that starts the stack. Fails with PortInUseError if the port is
 * taken, else with EdgeStartError.
 */
export async function startEdgeProcess(options: EdgeProcessOptions): Promise<EdgeProcess> {
  const entry = options.entry ?? EDGE_ENTRY;
  if (!existsSync(entry)) {
    throw new NotBuiltError('the edge', relative(repoRoot, entry));
  }
  const child = spawnDetachedChild(
    process.execPath,
    [...(entry.endsWith('.ts') ? ['--import', 'tsx', '--conditions=development'] : []), entry],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        ...options.env,
        SERVICE_INSTANCE: options.instance ?? EDGE_SERVICE,
        HOST: options.host,
        PORT: String(options.port),
        READ_UPSTREAMS: options.upstreams['todo-read'].join(','),
        WRITE_UPSTREAMS: options.upstreams['todo-write'].join(','),
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // It also closes when its IPC channel does, which is when this process has gone.
      orphanSignal: 'SIGTERM',
    },
  );
  createInterface({ input: child.stdout! }).on('line', options.onLine);
  createInterface({ input: child.stderr! }).on('line', options.onLine);
  const exited = new Promise<string>((resolve) => {
    child.once('close', (code, signal) => resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`));
  });

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new EdgeStartError(
            `did not start listening within ${READY_TIMEOUT_MS / 1000} s: the edge's own output says why`,
          ),
        ),
      READY_TIMEOUT_MS,
    );
    child.on('message', (message: EdgeMessage) => {
      if (message.type === 'listening') resolve(message.url);
      if (message.type === 'failed') {
        reject(
          message.code === 'EADDRINUSE'
            ? new PortInUseError(options.port, options.host)
            : new EdgeStartError(`could not start: ${message.message}`),
        );
      }
    });
    child.once('error', reject);
    void exited.then((how) =>
      reject(new EdgeStartError(`${how} before it was listening: the edge's own output says why`)),
    );
    void exited.finally(() => clearTimeout(timer));
  }).catch(async (error: unknown) => {
    await stopChild(child, exited);
    throw error;
  });
  const ids = { next: 1 };
  const pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  child.on('message', (message: EdgeMessage) => {
    if (message.type !== 'reply') return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.error) waiter?.reject(new EdgeControlError(`refused: ${message.error}`));
    else waiter?.resolve();
  });
  void exited.then((how) => {
    for (const waiter of pending.values()) waiter.reject(new EdgeControlError(how));
    pending.clear();
  });

  const control = (op: EdgeControlRequest['op'], service: ServiceName, replicaUrl: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const id = ids.next++;
      pending.set(id, { resolve, reject });
      child.send({ id, op, service, url: replicaUrl } satisfies EdgeControlRequest);
    });
  let stopping: Promise<void> | undefined;
  return {
    url,
    pid: child.pid!,
    register: (service, replicaUrl) => control('register', service, replicaUrl),
    deregister: (service, replicaUrl) => control('deregister', service, replicaUrl),
    stop: () => (stopping ??= stopChild(child, exited)),
  };
}
