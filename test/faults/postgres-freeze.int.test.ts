/**
 * Fault (b'): PostgreSQL stops answering without closing anything — every server process is
 * frozen with SIGSTOP, as a server that hangs or an RDS failover (connections to the old
 * primary go silent, no reset) looks to a client — during a mixed load through the stand-in.
 *
 * No request may hang on it: a query past its deadline (statement timeout + 1 s) fails the
 * request with 503 and its connection is discarded, a new connection gives up after its
 * connect timeout, and everything recovers once the server does. A create that timed out may still commit when the server
 * wakes, so a 503 does not mean "not applied": the load sends every create with an
 * Idempotency-Key and retries the ones that failed, as a client should, and afterwards the
 * database holds each intended todo exactly once.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalStack } from '@taskoverflow/stack';
import { TEST_SERVICE_ENV } from '@taskoverflow/stack/testing';
import pg from 'pg';
import t from 'tap';
import { startDedicatedPostgres } from './dedicated-postgres.js';
import {
  describe,
  percentile,
  stopOnceRecovered,
  seedTodos,
  servedSince,
  startLoad,
  succeeded,
  type Outcome,
} from './load.js';

/** The services' statement timeout here; their query deadline is 1 s more. */
const STATEMENT_TIMEOUT_MS = 1_000;
/** How long the services wait for a pool connection, or for a new one to open. */
const CONNECT_TIMEOUT_MS = 1_000;
/**
 * Longest a request may take while the server is frozen: a query deadline (2 s) after a
 * wait for a connection (1 s), plus scheduling slack on 2 busy cores.
 */
const MAX_LATENCY_MS = 4_500;
/** Longer than MAX_LATENCY_MS, so that a request that waits for the server to wake fails the test. */
const FREEZE_MS = 6_000;
const RETRY_ATTEMPTS = 20;
/** Requests served before the freeze, and in a row after it for the stack to count as recovered. */
const SERVED = 50;
/** Bound on each wait for the load: generous, for a busy 2-core machine. */
const WAIT_MS = 20_000;

const { dataDir, databaseUrl } = await startDedicatedPostgres(t, 'pg-freeze');

const stack = await startLocalStack({
  databaseUrl,
  readReplicas: 2,
  port: 0,
  quiet: true,
  serviceEnv: {
    ...TEST_SERVICE_ENV,
    PG_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
    PG_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
  },
});
t.teardown(() => stack.stop());

/** The postmaster and its children (backends, background workers), from /proc. */
function postgresProcesses(): number[] {
  const postmaster = Number.parseInt(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8'), 10);
  const children = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        // Field 4 of /proc/<pid>/stat is the parent's pid; the name before it may hold spaces.
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
  return [postmaster, ...children];
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // exited meanwhile
    }
  }
}

/** POSTs one create again, with its key, until it is answered 201 (bounded). */
async function retryCreate(outcome: Outcome): Promise<{ id: number; replayed: boolean; attempts: number }> {
  for (let attempt = 1; attempt <= RETRY_ATTEMPTS; attempt += 1) {
    const response = await fetch(`${stack.url}/api/v1/todos`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': outcome.idempotencyKey! },
      body: JSON.stringify({ title: outcome.title }),
    });
    const body = (await response.json()) as { id: number };
    if (response.status === 201) {
      return { id: body.id, replayed: response.headers.get('idempotent-replayed') === 'true', attempts: attempt };
    }
    await sleep(250);
  }
  throw new Error(`${outcome.title} (${outcome.idempotencyKey}) was not created after ${RETRY_ATTEMPTS} retries`);
}

t.test('a frozen PostgreSQL hangs no request, and retried creates are applied exactly once', async (t) => {
  await seedTodos(stack.url, 10);
  const load = startLoad({
    url: stack.url,
    workers: 6,
    createShare: 0.3,
    idempotencyKeys: true,
    maxRequests: 20_000,
    maxMs: 60_000,
  });
  await load.until(`${SERVED} requests served before the freeze`, servedSince(0, SERVED), WAIT_MS);
  const frozen = postgresProcesses();
  let thawed = false;
  const thaw = () => {
    if (!thawed) signalAll(frozen, 'SIGCONT');
    thawed = true;
  };
  t.teardown(thaw); // a failing assertion must not leave the server stopped
  const frozenAt = performance.now();
  signalAll(frozen, 'SIGSTOP');
  await sleep(FREEZE_MS);
  thaw();
  const thawedAt = performance.now();
  const outcomes = await stopOnceRecovered(t, load, { fault: 'the thaw', run: SERVED, timeoutMs: WAIT_MS });
  t.comment(`PostgreSQL frozen (${frozen.length} processes) for ${FREEZE_MS} ms: ${describe(outcomes)}`);
  const slowest = Math.max(...outcomes.map((o) => o.latencyMs));
  t.ok(
    slowest < MAX_LATENCY_MS,
    `no request hung: the slowest took ${slowest.toFixed(0)} ms (limit ${MAX_LATENCY_MS})`,
  );
  const failedCreates = outcomes.filter((o) => o.kind === 'create' && o.status !== 201);
  t.ok(failedCreates.length > 0, `creates during the freeze failed (${failedCreates.length} × 503)`);
  // Only a figure: the last write before the freeze invalidated every cached response, so a
  // read served while frozen is luck of timing (one that reloaded the list in between).
  const whileFrozen = outcomes.filter((o) => o.startedMs > frozenAt && o.startedMs < thawedAt);
  t.comment(
    `sent while frozen: ${whileFrozen.length} (${whileFrozen.filter((o) => o.status === 200).length} reads served, ` +
      `${whileFrozen.filter((o) => o.status === 503).length} × 503)`,
  );
  const last = outcomes.slice(-SERVED);
  t.ok(last.every(succeeded), `recovered by itself: the last ${SERVED} requests succeeded`);

  const retries = await Promise.all(failedCreates.map(retryCreate));
  const replayed = retries.filter((r) => r.replayed).length;
  t.comment(
    `${failedCreates.length} failed creates retried with their keys: ${replayed} had been applied after all ` +
      `(replayed), ${retries.length - replayed} created now; p99 503 latency ` +
      `${percentile(
        failedCreates.map((o) => o.latencyMs),
        99,
      ).toFixed(0)} ms`,
  );

  const intended = new Set(outcomes.filter((o) => o.kind === 'create').map((o) => o.title!));
  const acknowledged = new Set([
    ...outcomes.filter((o) => o.status === 201).map((o) => o.id!),
    ...retries.map((r) => r.id),
  ]);
  const pool = new pg.Pool({ connectionString: databaseUrl });
  t.teardown(() => pool.end());
  const rows = (
    await pool.query<{ id: number; title: string }>("select id, title from todos where title like 'load %'")
  ).rows;
  const copies = new Map<string, number>();
  for (const row of rows) copies.set(row.title, (copies.get(row.title) ?? 0) + 1);
  const duplicated = [...copies].filter(([, n]) => n > 1).map(([title]) => title);
  const missing = [...intended].filter((title) => !copies.has(title));
  const unintended = [...copies.keys()].filter((title) => !intended.has(title));
  const lost = [...acknowledged].filter((id) => !rows.some((row) => row.id === id));
  t.comment(
    `creates intended: ${intended.size}, stored: ${rows.length}, duplicated: ${duplicated.length}, ` +
      `missing: ${missing.length}, unintended: ${unintended.length}, acknowledged but lost: ${lost.length}`,
  );
  t.same(duplicated, [], 'no todo was created twice');
  t.same(missing, [], 'every intended todo exists');
  t.same(unintended, [], 'nothing exists that nobody asked for');
  t.same(lost, [], 'every acknowledged id is stored');

  const listed = (await (await fetch(`${stack.url}/api/v1/todos`)).json()) as Array<{ title: string }>;
  const listedTitles = new Set(listed.map((todo) => todo.title));
  t.same(
    [...intended].filter((title) => !listedTitles.has(title)),
    [],
    'and the (cached) list shows every one of them',
  );
});
