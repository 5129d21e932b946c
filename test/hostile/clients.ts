/**
 * The hostile-client suite's clients: a well-behaved reader to measure what everyone else sees
 * during an attack, the slow reader (slow_reader.py: a small receive window needs a socket
 * option Node does not have), and raw sockets for what fetch will not send. Loopback only,
 * each bounded in requests and time.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Test } from 'tap';
import { percentile } from '../faults/load.js';

/** Todos whose list is ~170 KB: more than a socket's buffers take from a client that does not read. */
export const LARGE_LIST_TODOS = 600;

/** Inserts `count` todos with 120-character descriptions straight into PostgreSQL. */
export async function seedTodos(databaseUrl: string, count: number): Promise<void> {
  const pool = new pg.Pool({ connectionString: databaseUrl });
  try {
    await pool.query(
      `insert into todos (title, description) select 'todo ' || n, repeat('x', 120) from generate_series(1, $1::int) as n`,
      [count],
    );
  } finally {
    await pool.end();
  }
}

export interface Reads {
  statuses: number[];
  latenciesMs: number[];
}

/** What a well-behaved client reads: `count` list requests one after another, each bounded to 5 s. */
export async function wellBehavedReads(baseUrl: string, count = 100): Promise<Reads> {
  const reads: Reads = { statuses: [], latenciesMs: [] };
  for (let i = 0; i < count; i += 1) {
    const startedAt = performance.now();
    let status = 0;
    try {
      const response = await fetch(`${baseUrl}/api/v1/todos`, { signal: AbortSignal.timeout(5_000) });
      await response.arrayBuffer();
      status = response.status;
    } catch {
      // Status 0: no answer (refused, reset or timed out).
    }
    reads.statuses.push(status);
    reads.latenciesMs.push(performance.now() - startedAt);
  }
  return reads;
}

/** The suite's bar: ≥ 99 % of the reads answered 200, with p99 under 1 s. */
export function assertWellServed(t: Test, reads: Reads, during: string): void {
  const ok = reads.statuses.filter((status) => status === 200).length;
  const p99 = percentile(reads.latenciesMs, 99);
  const others = reads.statuses.filter((status) => status !== 200);
  t.comment(
    `${during}: ${ok}/${reads.statuses.length} reads 200, p50 ${percentile(reads.latenciesMs, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`,
  );
  t.ok(
    ok >= reads.statuses.length * 0.99,
    `${during}: ≥ 99 % of a well-behaved client's reads are 200 (${ok}/${reads.statuses.length}; others ${others.join(', ') || 'none'})`,
  );
  t.ok(p99 < 1_000, `${during}: their p99 is under 1 s (${p99.toFixed(1)} ms)`);
}

const SLOW_READER = fileURLToPath(new URL('slow_reader.py', import.meta.url));

export interface SlowReaders {
  /** Ends the attack; resolves with how many connections of each group the server had closed. */
  stop(): Promise<number[]>;
}

/**
 * Connections with a 4 KB receive window that ask for `path` and read nothing, each from a
 * loopback address of its own: per group, `count` connections sending `depth` requests each
 * (pipelined when more than one). Resolves once every request is sent. Held at most 60 s, and
 * ended when the test ends.
 */
export async function startSlowReaders(
  t: Test,
  baseUrl: string,
  path: string,
  groups: Array<{ count: number; depth: number }>,
): Promise<SlowReaders> {
  const { hostname, port } = new URL(baseUrl);
  const child = spawn(
    'python3',
    [SLOW_READER, hostname, port, path, ...groups.map(({ count, depth }) => `${count}x${depth}`)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  t.teardown(() => {
    if (child.exitCode === null) child.kill();
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.value !== 'ready') throw new Error(`slow_reader.py did not start: ${String(first.value)}`);
  return {
    async stop() {
      child.stdin.end();
      const summary = String((await lines.next()).value);
      if (!summary.startsWith('closed ')) throw new Error(`slow_reader.py said ${summary}`);
      return summary
        .slice('closed '.length)
        .split(' ')
        .map((group) => Number(group.split('/')[0]));
    },
  };
}

/** The loopback address of an attacker's `index`-th connection in `group`: one address each, 127.2.<group>.<n>. */
export function attackerAddress(group: number, index: number): string {
  return `127.2.${group}.${(index % 250) + 1}`;
}

/** A raw connection to `baseUrl` (optionally from another loopback address), closed when the test ends. */
export async function rawConnection(t: Test, baseUrl: string, localAddress?: string): Promise<Socket> {
  const { hostname, port } = new URL(baseUrl);
  const socket = connect({ host: hostname, port: Number(port), ...(localAddress && { localAddress }) });
  socket.on('error', () => {
    // A reset is one of the outcomes the tests look at ('close').
  });
  t.teardown(() => void socket.destroy());
  await once(socket, 'connect');
  return socket;
}

/** Everything `socket` receives until it closes, and when (ms after the call); at most `timeoutMs`. */
export function readUntilClosed(
  socket: Socket,
  timeoutMs: number,
): Promise<{ data: string; closedAfterMs: number | undefined }> {
  const startedAt = performance.now();
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve) => {
    const timer = setTimeout(
      () => resolve({ data: Buffer.concat(chunks).toString('latin1'), closedAfterMs: undefined }),
      timeoutMs,
    );
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks).toString('latin1'), closedAfterMs: performance.now() - startedAt });
    });
  });
}
