/**
 * Fault (d): more load than todo-read can serve. It must shed — answer 503 with Retry-After
 * quickly instead of queueing — and serve normally again once the load stops.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { followLogLines, startTestStack } from '@taskoverflow/stack/testing';
import pg from 'pg';
import t from 'tap';
import { percentile } from './load.js';

/** How long the replica itself took over each 503 it sent, from its "request finished" lines. */
const shedDurationsMs: number[] = [];
const stack = await startTestStack(t, {
  readReplicas: 1,
  // No cache (an empty REDIS_URL), and shedding thresholds this machine can reach.
  serviceEnv: { REDIS_URL: '', SHED_EVENT_LOOP_DELAY_MS: '30', SHED_MAX_CONCURRENT_REQUESTS: '4' },
});
followLogLines(t, stack, (line, instance) => {
  if (
    instance.startsWith('todo-read') &&
    line.msg === 'request finished' &&
    line.status === 503 &&
    typeof line.duration_ms === 'number'
  ) {
    shedDurationsMs.push(line.duration_ms);
  }
});
// 1000 todos, uncached: every list request queries and serializes ~200 KB, so one replica saturates.
const pool = new pg.Pool({ connectionString: stack.databaseUrl });
await pool.query(
  `insert into todos (title, description) select 'todo ' || n, repeat('x', 120) from generate_series(1, 1000) as n`,
);
await pool.end();

/** Connections autocannon keeps busy: 8 times what the replica admits at once. */
const CONNECTIONS = 32;
const LOAD_SECONDS = 8;
/** A bound on the run besides its duration (it sends ≈ 1 000 a second here). */
const MAX_REQUESTS = 20_000;

t.test('an overloaded replica sheds with fast 503s and recovers', async (t) => {
  // Straight at the replica: its own shedding is under test, and the edge relaying 200 KB
  // bodies (a process of its own, but on the same two cores) would take CPU from the replica
  // and add its own time to what the client sees. The load comes from autocannon, as in
  // `pnpm bench`: fetch's own cost per request, on the same two cores, added tens of
  // milliseconds to what the client saw.
  const [replica] = stack.readUrls as [string];
  const latenciesByStatus = new Map<number, number[]>();
  // The callback form: its instance emits each response (the promise form's type does not).
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const options = {
      url: `${replica}/api/v1/todos`,
      connections: CONNECTIONS,
      duration: LOAD_SECONDS,
      maxOverallRequests: MAX_REQUESTS,
    };
    // autocannon calls back with an Error (a bad option, a worker's failure) or null.
    const run = autocannon(options, (error: Error | null, result: autocannon.Result) =>
      error ? reject(error) : resolve(result),
    );
    run.on('response', (_client, status, _bytes, latencyMs) => {
      let latencies = latenciesByStatus.get(status);
      if (!latencies) latenciesByStatus.set(status, (latencies = []));
      latencies.push(latencyMs);
    });
  });
  const shed = latenciesByStatus.get(503) ?? [];
  const served = latenciesByStatus.get(200) ?? [];
  const p99 = percentile(shed, 99);
  // The target (503s in under 100 ms at p99) is a figure to report, not a timed assertion:
  // on a shared 2-core machine it depends on what else runs. What is asserted is the
  // behaviour: shedding fails fast instead of queueing into the original's long hangs.
  const target = p99 < 100 ? '✓ under the 100 ms target' : '✗ over the 100 ms target';
  // The replica's own time per 503 against what the client saw: the difference is time the
  // request waited to be read, behind the event loop's work on the lists it admitted (and,
  // on this machine, behind the load generator and PostgreSQL on the same two cores).
  const serverP99 = percentile(shedDurationsMs, 99);
  const statuses = Object.fromEntries([...latenciesByStatus].map(([status, latencies]) => [status, latencies.length]));
  t.comment(
    `overload: ${result.requests.sent} requests over ${CONNECTIONS} connections in ${result.duration.toFixed(1)} s; statuses ${JSON.stringify(statuses)}, ` +
      `${result.errors} errors, ${result.timeouts} timeouts; 200 p50 ${percentile(served, 50).toFixed(1)} ms, p99 ${percentile(served, 99).toFixed(1)} ms; ` +
      `503 p50 ${percentile(shed, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms ${target}; ` +
      `inside the replica ${serverP99.toFixed(1)} ms p99 (${shedDurationsMs.length} logged)`,
  );

  t.same(
    Object.keys(statuses).filter((status) => status !== '200' && status !== '503'),
    [],
    'only 200s and 503s',
  );
  t.equal(result.errors + result.timeouts, 0, 'every request was answered');
  t.ok(shed.length > 0, 'it shed load');
  t.ok(served.length > 0, 'and served what it admitted');
  t.ok(p99 < 1_000, `503s fail fast, not after a hang (p99 ${p99.toFixed(1)} ms)`);

  // Shedding ends with the next event-loop sample that sees the loop keep up: poll, bounded.
  let after = 0;
  const deadline = Date.now() + 10_000;
  while (after !== 200 && Date.now() < deadline) {
    if (after !== 0) await sleep(100);
    const response = await fetch(`${stack.url}/api/v1/todos`);
    after = response.status;
    await response.arrayBuffer();
  }
  t.equal(after, 200, 'serves again once the load stops (within 10 s)');
});
