/**
 * The ceiling (k6's floor): a bare node:http server (loadtests/lib/ceiling-server.mjs)
 * answering every request with the list's bytes and headers, as the system under test sent
 * them. k6 run against it with the same VUs and think time measures what k6 itself adds on
 * this machine; the stack's figures are read beside it.
 *
 * The balanced ceiling is the stack's topology without its application: as many bare servers
 * as the stack has read replicas, behind the same load balancer as the stack (HAProxy or the
 * Node edge, logging every request to its file as in the stack). What the plumbing costs
 * before any of the services' code runs: the stack's figures above it are the services' own.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CEILING_EDGE_PROCESS } from '@taskoverflow/trace';
import {
  findFreePorts,
  logFilePath,
  startBalancer,
  startServiceProcess,
  type ServiceProcess,
} from '@taskoverflow/stack';
import { HEALTH_PATH } from '@taskoverflow/routing';
import { CEILING_ENTRY, ceilingEnv } from '../lib/ceiling.js';
import { captureList } from '../lib/seed.js';

const HOST = '127.0.0.1';

export interface CeilingTarget {
  url: string;
  /** Bytes of the list it sends. */
  listBytes: number;
  /** `bare node:http`, `HAProxy 2.6.12 → 2 bare node:http servers`. */
  description: string;
  stop(): Promise<void>;
}

export interface CeilingTargetOptions {
  /**
   * Put this many bare servers behind the stack's load balancer (the balanced ceiling), its
   * request lines in `<logDir>/edge.log`. Unset: one bare server, k6 straight to it.
   */
  balanced?: { servers: number; logDir: string };
}

/** Captures GET /api/v1/todos from `endpoint`, then serves those bytes on free loopback ports. */
export async function startCeilingTarget(endpoint: string, options: CeilingTargetOptions = {}): Promise<CeilingTarget> {
  const list = await captureList(endpoint);
  const dir = await mkdtemp(join(tmpdir(), 'taskoverflow-ceiling-'));
  const running: Array<{ stop(): Promise<void> }> = [];
  const stop = async (): Promise<void> => {
    // The balancer first (last started), so that no request reaches a stopped server.
    for (const process of [...running].reverse()) await process.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const { balanced } = options;
    const env = await ceilingEnv(dir, list);
    const ports = await findFreePorts(balanced?.servers ?? 1, HOST);
    const servers = await Promise.all(
      ports.map((port, index): Promise<ServiceProcess> => {
        // The load test's process sampler names a process by its SERVICE_INSTANCE.
        const instance = balanced ? `ceiling-${index + 1}` : 'ceiling';
        return startServiceProcess({
          instance,
          entry: CEILING_ENTRY,
          env: { HOST, PORT: String(port), SERVICE_INSTANCE: instance, ...env },
          healthUrl: `http://${HOST}:${port}${HEALTH_PATH}`,
          onLine: (line) => process.stderr.write(`${instance}: ${line}\n`),
        });
      }),
    );
    running.push(...servers);
    const urls = ports.map((port) => `http://${HOST}:${port}`);
    if (!balanced) return { url: urls[0]!, listBytes: list.body.length, description: 'bare node:http', stop };

    await mkdir(balanced.logDir, { recursive: true });
    const balancer = await startBalancer({
      instance: CEILING_EDGE_PROCESS,
      host: HOST,
      port: 0,
      // Every route to the bare servers: the scenarios that run here only read.
      upstreams: { 'todo-read': urls, 'todo-write': urls },
      env: { LOG_FORMAT: 'json', LOG_FILE: logFilePath(balanced.logDir, 'edge') },
      // Its lines (stats, warnings) are in its log file too, as the load test's stack keeps them.
      onLine: () => undefined,
    });
    running.push(balancer);
    return {
      url: balancer.url,
      listBytes: list.body.length,
      description: `${balancer.description} → ${servers.length} bare node:http servers`,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
