/**
 * Fault (c): SIGTERM to a read replica, and a rolling restart of todo-write, while load runs
 * through the load-balancer stand-in. A stopping replica fails its health check and keeps
 * serving until the stand-in has taken it out of rotation, then finishes what it has: no
 * request may fail.
 */
import { performance } from 'node:perf_hooks';
import { startTestStack } from '@taskoverflow/stack/testing';
import pg from 'pg';
import t from 'tap';
import { describe, servedSince, startLoad, succeeded } from './load.js';

/** Successful requests the load must have before the faults and again after them. */
const SERVED = 100;
/** Bound on each wait for the load: generous, for a busy 2-core machine. */
const WAIT_MS = 20_000;

const stack = await startTestStack(t, { readReplicas: 2 });

t.test('SIGTERM to a read replica and a rolling restart of todo-write lose no request', async (t) => {
  const load = startLoad({ url: stack.url, workers: 8, createShare: 0.25, maxRequests: 20_000, maxMs: 60_000 });
  await load.until(`${SERVED} requests served before the faults`, servedSince(0, SERVED), WAIT_MS);
  const faultsStarted = performance.now();
  await stack.stopInstance('todo-read-1');
  const replacement = await stack.restart('todo-write-1');
  const faultsEnded = performance.now();
  await load.until(`${SERVED} requests served after the faults`, servedSince(faultsEnded, SERVED), WAIT_MS);
  const outcomes = await load.stop();
  t.comment(`SIGTERM todo-read-1, todo-write-1 → ${replacement.instance}: ${describe(outcomes)}`);

  const during = outcomes.filter((o) => o.startedMs > faultsStarted && o.startedMs < faultsEnded);
  t.ok(during.length > 0, `the load kept going while the instances were replaced (${during.length} requests)`);
  const failed = outcomes.filter((outcome) => !succeeded(outcome));
  t.same(failed.slice(0, 5), [], `failed requests: ${failed.length}`);

  const created = outcomes.filter((outcome) => outcome.status === 201).map((outcome) => outcome.id!);
  const pool = new pg.Pool({ connectionString: stack.databaseUrl });
  t.teardown(() => pool.end());
  const { rows } = await pool.query<{ id: number }>('select id from todos where id = any($1)', [created]);
  t.equal(rows.length, created.length, `all ${created.length} acknowledged writes are stored`);
  t.same(
    stack.services.map((service) => service.instance).sort(),
    ['todo-read-2', replacement.instance].sort(),
    'the stack runs what is left',
  );
});
