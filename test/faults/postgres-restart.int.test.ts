/**
 * Fault (b): PostgreSQL restarts during a mixed load through the stand-in. Writes during the
 * outage must fail fast with 503 + Retry-After (never hang, never 500), cached reads keep
 * answering, everything recovers by itself, and afterwards the database holds exactly the
 * writes that were acknowledged with a 201: none lost, no phantoms.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalStack } from '@taskoverflow/stack';
import { TEST_SERVICE_ENV } from '@taskoverflow/stack/testing';
import pg from 'pg';
import t from 'tap';
import { startDedicatedPostgres } from './dedicated-postgres.js';
import { describe, servedSince, startLoad, stopOnceRecovered, succeeded } from './load.js';

/** How long PostgreSQL stays down: the length of the fault, not a wait for anything. */
const OUTAGE_MS = 2_000;
/** Bound on the load reaching a state: generous, for a busy 2-core machine. */
const WAIT_MS = 20_000;
/** Requests in a row that must succeed after the restart for the stack to count as recovered. */
const RECOVERED_RUN = 50;

const postgres = await startDedicatedPostgres(t, 'pg-restart');
const { databaseUrl } = postgres;
// Not a test of shedding: a 503 shed on a busy machine would pass for an outage 503.
const stack = await startLocalStack({
  databaseUrl,
  readReplicas: 2,
  port: 0,
  quiet: true,
  serviceEnv: { ...TEST_SERVICE_ENV },
});
t.teardown(() => stack.stop());

t.test('a PostgreSQL restart loses no acknowledged write and creates no phantom', async (t) => {
  const load = startLoad({ url: stack.url, workers: 6, createShare: 0.3, maxRequests: 20_000, maxMs: 60_000 });
  await load.until('serving reads and writes', servedSince(0, RECOVERED_RUN), WAIT_MS);
  const outageStarted = Date.now();
  await postgres.stop();
  await sleep(OUTAGE_MS);
  await postgres.start();
  const outageMs = Date.now() - outageStarted;
  const outcomes = await stopOnceRecovered(t, load, { fault: 'the restart', run: RECOVERED_RUN, timeoutMs: WAIT_MS });
  t.comment(`PostgreSQL down for ${outageMs} ms: ${describe(outcomes)}`);
  const slowFailures = outcomes.filter((o) => o.status === 503 && o.latencyMs > 6_000);
  t.equal(slowFailures.length, 0, 'a 503 comes fast: no request hangs on the dead database');
  t.ok(
    outcomes.some((o) => o.status === 503 && o.kind === 'create'),
    'writes during the outage were refused',
  );
  t.ok(
    outcomes.some((o) => o.status === 200),
    'reads were answered',
  );

  const last = outcomes.slice(-RECOVERED_RUN);
  t.ok(last.every(succeeded), `recovered by itself: the last ${RECOVERED_RUN} requests succeeded`);

  const acknowledged = new Set(outcomes.filter((o) => o.status === 201).map((o) => o.id!));
  const pool = new pg.Pool({ connectionString: databaseUrl });
  t.teardown(() => pool.end());
  const stored = new Set(
    (await pool.query<{ id: number }>("select id from todos where title like 'load %'")).rows.map((row) => row.id),
  );
  const lost = [...acknowledged].filter((id) => !stored.has(id));
  const phantoms = [...stored].filter((id) => !acknowledged.has(id));
  t.comment(
    `writes acknowledged: ${acknowledged.size}, found: ${stored.size}, lost: ${lost.length}, phantoms: ${phantoms.length}`,
  );
  t.same(lost, [], 'every acknowledged write is stored');
  t.same(phantoms, [], 'nothing is stored that was not acknowledged');
});
