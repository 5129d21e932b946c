/**
 * The ceiling (k6's floor): a bare node:http server (loadtests/lib/ceiling-server.mjs)
 * answering every request with the list's bytes and headers, as the system under test sent
 * them. k6 run against it with the same VUs and think time measures what k6 itself adds on
 * this machine; the stack's figures are read beside it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePorts, startServiceProcess } from '@taskoverflow/stack';
import { CEILING_ENTRY, ceilingEnv } from '../lib/ceiling.js';
import { captureList } from '../lib/seed.js';

const HOST = '127.0.0.1';

export interface CeilingTarget {
  url: string;
  /** Bytes of the list it sends. */
  listBytes: number;
  stop(): Promise<void>;
}

/** Captures GET /api/v1/todos from `endpoint`, then serves those bytes on a free loopback port. */
export async function startCeilingTarget(endpoint: string): Promise<CeilingTarget> {
  const list = await captureList(endpoint);
  const dir = await mkdtemp(join(tmpdir(), 'taskoverflow-ceiling-'));
  try {
    const [port] = await findFreePorts(1, HOST);
    const url = `http://${HOST}:${port}`;
    const server = await startServiceProcess({
      instance: 'ceiling',
      entry: CEILING_ENTRY,
      env: { HOST, PORT: String(port), ...(await ceilingEnv(dir, list)) },
      healthUrl: `${url}/api/v1/health`,
      onLine: (line) => process.stderr.write(`ceiling: ${line}\n`),
    });
    return {
      url,
      listBytes: list.body.length,
      async stop() {
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
