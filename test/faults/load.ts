/**
 * A small closed-loop load generator for the fault tests: N workers each send one request at
 * a time until told to stop, or until a request or time budget runs out (always bounded).
 * Only loopback URLs are accepted.
 */
import { performance } from 'node:perf_hooks';
import { percentile as nearestRank } from '@taskoverflow/trace';
import type { Test } from 'tap';

export interface Outcome {
  kind: 'read' | 'create';
  status: number;
  /** Network failure (no HTTP status), e.g. a reset connection. */
  error?: string;
  latencyMs: number;
  /** When it was sent (performance.now()). */
  startedMs: number;
  /** What an error answer (4xx, 5xx) said, to tell its causes apart. */
  answer?: string;
  /** The created todo's id, for a 201. */
  id?: number;
  /** A create's title, `load <sequence>`, unique in a run. */
  title?: string;
  /** The Idempotency-Key a create carried (with `idempotencyKeys`). */
  idempotencyKey?: string;
  /** The ids a list answered with (with `checkLists`), for staleReads. */
  listed?: number[];
}

export interface LoadOptions {
  url: string;
  workers: number;
  /** Share of requests that are creates (the rest list todos). */
  createShare: number;
  maxRequests: number;
  maxMs: number;
  /** Paths the read requests cycle through. Default: the list. */
  readPaths?: string[];
  /** Send each create with its own Idempotency-Key, so that it can be retried safely. */
  idempotencyKeys?: boolean;
  /** Decode each list answer and keep its ids, for staleReads (costs the generator CPU). */
  checkLists?: boolean;
}

export interface RunningLoad {
  /**
   * Resolves once `condition` holds for the outcomes so far (checked as each one comes in);
   * rejects, naming `what`, after `timeoutMs` or when the load ends first.
   */
  until(what: string, condition: (outcomes: readonly Outcome[]) => boolean, timeoutMs: number): Promise<void>;
  /** Stops the workers and returns every outcome. */
  stop(): Promise<Outcome[]>;
}

export function startLoad(options: LoadOptions): RunningLoad {
  const host = new URL(options.url).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(host))
    throw new Error(`load tests target loopback only, not ${host}`);
  const outcomes: Outcome[] = [];
  const deadline = performance.now() + options.maxMs;
  const readPaths = options.readPaths ?? ['/api/v1/todos'];
  let sent = 0;
  let stopped = false;
  /** Conditions being waited for, each checked after every outcome. */
  const waiters = new Set<() => void>();
  const record = (outcome: Outcome): void => {
    outcomes.push(outcome);
    for (const check of waiters) check();
  };

  const request = async (kind: Outcome['kind'], sequence: number): Promise<Outcome> => {
    const started = performance.now();
    const title = `load ${sequence}`;
    const idempotencyKey = kind === 'create' && options.idempotencyKeys ? `load-${sequence}` : undefined;
    const createFields = kind === 'create' ? { title, ...(idempotencyKey && { idempotencyKey }) } : {};
    const readPath = readPaths[sequence % readPaths.length]!;
    const checkList = kind === 'read' && options.checkLists === true && isListPath(readPath);
    try {
      const response =
        kind === 'create'
          ? await fetch(`${options.url}/api/v1/todos`, {
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                ...(idempotencyKey && { 'idempotency-key': idempotencyKey }),
              },
              body: JSON.stringify({ title }),
            })
          : await fetch(`${options.url}${readPath}`);
      // Reads are drained as bytes, not decoded, unless checked: the generator must not be the bottleneck.
      const body = kind === 'create' || checkList ? await response.text() : await response.arrayBuffer();
      const outcome: Outcome = {
        kind,
        status: response.status,
        latencyMs: performance.now() - started,
        startedMs: started,
        ...createFields,
      };
      if (response.status >= 400) {
        const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
        outcome.answer = `${text.slice(0, 200)} (retry-after ${response.headers.get('retry-after')})`;
      }
      if (kind === 'create' && response.status === 201) outcome.id = (JSON.parse(body as string) as { id: number }).id;
      if (checkList && response.status === 200)
        outcome.listed = (JSON.parse(body as string) as Array<{ id: number }>).map((todo) => todo.id);
      return outcome;
    } catch (error) {
      const cause = String((error as Error).cause ?? error);
      return {
        kind,
        status: 0,
        error: cause,
        latencyMs: performance.now() - started,
        startedMs: started,
        ...createFields,
      };
    }
  };

  const worker = async (): Promise<void> => {
    while (!stopped && sent < options.maxRequests && performance.now() < deadline) {
      const sequence = (sent += 1);
      const kind = Math.random() < options.createShare ? 'create' : 'read';
      record(await request(kind, sequence));
    }
  };
  const workers = Promise.all(Array.from({ length: options.workers }, worker));

  return {
    until(what, condition, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const finish = (error?: Error): void => {
          waiters.delete(check);
          clearTimeout(timer);
          if (error) reject(error);
          else resolve();
        };
        const check = (): void => {
          if (condition(outcomes)) finish();
        };
        const timer = setTimeout(() => finish(new Error(`load: not ${what} within ${timeoutMs} ms`)), timeoutMs);
        waiters.add(check);
        check();
        void workers.then(() => {
          if (waiters.has(check)) finish(new Error(`load: ended (request or time budget spent) before ${what}`));
        });
      });
    },
    async stop() {
      stopped = true;
      await workers;
      return outcomes;
    },
  };
}

/** A request that succeeded: 200 or 201. */
export const succeeded = (outcome: Outcome): boolean => outcome.status === 200 || outcome.status === 201;

/** A list of todos (`/api/v1/todos`, with or without a query), not one todo. */
const isListPath = (path: string): boolean => new URL(path, 'http://x').pathname === '/api/v1/todos';

/** A list answer that lacked todos whose creation was acknowledged (201 received) before the list was requested. */
export interface StaleRead {
  read: Outcome;
  missing: number[];
}

/**
 * Every list read (recorded with `checkLists`) checked against the creates acknowledged before
 * it was sent: read-your-writes says each of them must be listed. The load's creates are
 * `completed: false`, so `?completed=false` must list them too.
 */
export function staleReads(outcomes: readonly Outcome[]): StaleRead[] {
  const acknowledged = outcomes
    .filter((o) => o.kind === 'create' && o.status === 201)
    .map((o) => ({ id: o.id!, atMs: o.startedMs + o.latencyMs }))
    .sort((a, b) => a.atMs - b.atMs);
  const stale: StaleRead[] = [];
  for (const read of outcomes) {
    if (!read.listed) continue;
    const listed = new Set(read.listed);
    const missing = acknowledged
      .filter((create) => create.atMs < read.startedMs && !listed.has(create.id))
      .map((create) => create.id);
    if (missing.length > 0) stale.push({ read, missing });
  }
  return stale;
}

/** A RunningLoad.until condition: `count` requests sent after `since` (performance.now()) succeeded. */
export function servedSince(since: number, count: number): (outcomes: readonly Outcome[]) => boolean {
  return (outcomes) => outcomes.filter((o) => o.startedMs > since && succeeded(o)).length >= count;
}

/** A RunningLoad.until condition: the last `count` requests were all sent after `since` and succeeded. */
export function recoveredSince(since: number, count: number): (outcomes: readonly Outcome[]) => boolean {
  return (outcomes) => {
    const last = outcomes.slice(-count);
    return last.length === count && last.every((o) => o.startedMs > since && succeeded(o));
  };
}

/**
 * Right after a fault has ended (`fault`, e.g. `the restart`): waits until the last `run`
 * requests, all sent from now on, succeeded, stops the load, and checks that every request
 * succeeded or was refused with a 503. Returns every outcome.
 */
export async function stopOnceRecovered(
  t: Test,
  load: RunningLoad,
  { fault, run, timeoutMs }: { fault: string; run: number; timeoutMs: number },
): Promise<Outcome[]> {
  const since = performance.now();
  await load.until(
    `recovered: ${run} requests in a row succeeded after ${fault}`,
    recoveredSince(since, run),
    timeoutMs,
  );
  const outcomes = await load.stop();
  const unexpected = outcomes.filter((o) => ![200, 201, 503].includes(o.status));
  t.same(unexpected.slice(0, 5), [], `no request failed other than with a 503 (${unexpected.length})`);
  return outcomes;
}

/** Creates `count` todos titled `seed <n>` through `url`, so that reads have something to serve. */
export async function seedTodos(url: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    const response = await fetch(`${url}/api/v1/todos`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: `seed ${i}` }),
    });
    if (response.status !== 201) throw new Error(`seeding: POST answered ${response.status}: ${await response.text()}`);
  }
}

/** The p-th percentile of `values` (in any order) by nearest rank, as `pnpm trace` computes it; 0 when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return nearestRank(sorted, p);
}

/** One line of figures for the test output. */
export function describe(outcomes: Outcome[]): string {
  const byStatus = new Map<string, number>();
  for (const outcome of outcomes) {
    const key = outcome.status === 0 ? `error(${outcome.error})` : String(outcome.status);
    byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
  }
  const latencies = outcomes.map((outcome) => outcome.latencyMs);
  return (
    `${outcomes.length} requests (${outcomes.filter((o) => o.kind === 'read').length} reads, ` +
    `${outcomes.filter((o) => o.kind === 'create').length} creates); statuses ${JSON.stringify(Object.fromEntries(byStatus))}; ` +
    `p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`
  );
}
