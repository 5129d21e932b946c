/**
 * Slow readers (issue 20): clients with a 4 KB receive window that ask for the list and read
 * nothing, at the edge and straight at a replica (as the ALB reaches one). 2,000 todos make a
 * list of ~560 KB: the OS takes up to 4 MB of answers per connection (tcp_wmem's maximum here)
 * before the rest waits in the process, so a client pipelining 16 stalls there. Bounds are
 * shortened to 2 s (5 and 10 s by default) so that the suite stays short. At the edge, each
 * balancer it may be (HAProxy, the Node edge) faces the attack.
 */
import { BALANCER_KINDS, type BalancerKind } from '@taskoverflow/stack';
import { readLogLines, startTestStack, waitUntil, type LogLine } from '@taskoverflow/stack/testing';
import t from 'tap';
import { assertWellServed, seedTodos, startSlowReaders, wellBehavedReads } from './clients.js';

const DRAIN_BOUND_MS = 2_000;
// The edge takes its settings from this process's environment (startBalancer).
process.env.EDGE_CLIENT_DRAIN_TIMEOUT_MS = String(DRAIN_BOUND_MS);
/** The bound, plus the sweeps' period, plus scheduling on a busy machine. */
const ENFORCED_WITHIN_MS = DRAIN_BOUND_MS + 5_000;

/** A stack with 2,000 todos, its cache warm: the attacks are about connections, not the first uncached query. */
async function startStack(balancer?: BalancerKind): Promise<Awaited<ReturnType<typeof startTestStack>>> {
  const stack = await startTestStack(t, {
    readReplicas: 2,
    serviceEnv: { CLIENT_DRAIN_TIMEOUT_MS: String(DRAIN_BOUND_MS) },
    ...(balancer && { balancer }),
  });
  await seedTodos(stack.databaseUrl, 2_000);
  await wellBehavedReads(stack.url, 2);
  return stack;
}

const stack = await startStack();

for (const balancer of BALANCER_KINDS)
  t.test(
    `at the edge (${balancer}): slow readers, pipelining or not, do not take the reads away, and those that stall are closed`,
    async (t) => {
      const edgeStack = stack.balancer.kind === balancer ? stack : await startStack(balancer);
      // The attack (150 connections with one list request each, 8 with 100 pipelined),
      // and 20 pipelining 16, as many as may wait on a connection.
      const attack = await startSlowReaders(t, edgeStack.url, '/api/v1/todos', [
        { count: 150, depth: 1 },
        { count: 8, depth: 100 },
        { count: 20, depth: 16 },
      ]);
      const reads = await wellBehavedReads(edgeStack.url);
      assertWellServed(t, reads, 'during 178 slow readers at the edge');
      let stalled = 0;
      let refusedAtOnce = 0;
      let endings = '';
      await waitUntil(
        '20 stalled exchanges in the edge log',
        async () => {
          const lines = (await readLogLines(edgeStack, 'edge')).filter((line) => line.msg === 'request finished');
          stalled = lines.filter((line) => line.stalled === true).length;
          refusedAtOnce = lines.filter((line) => line.status === 503 && line.upstream === undefined).length;
          endings = countedEndings(lines);
          return stalled >= 20 || undefined;
        },
        ENFORCED_WITHIN_MS,
        200,
      ).catch(() => undefined); // asserted below, with the count found
      const [, tooDeep, stalling] = await attack.stop();
      t.equal(tooDeep, 8, 'each connection pipelining 100 was closed (more than 16 waiting)');
      t.equal(stalling, 20, 'each connection pipelining 16 was closed once it stopped taking its answers');
      // A stalling connection all of whose 16 requests the queue refused at once (small 503s that
      // fit the socket buffers) never stalls: it is closed idle. Each one not logged as stalled
      // must be accounted for by 16 such refusals.
      t.ok(
        stalled >= 20 || (stalled > 0 && refusedAtOnce >= 16 * (20 - stalled)),
        `their exchanges are logged as stalled (${stalled}; refused at once ${refusedAtOnce}; request lines by ending: ${endings})`,
      );
    },
  );

t.test(
  'straight at a replica: what stalled readers hold is let go after CLIENT_DRAIN_TIMEOUT_MS, and reads are served again',
  async (t) => {
    const replica = stack.readUrls[0]!;
    // Each connection's answers past what the OS takes stay in the replica's memory, counted
    // against SHED_MAX_MB_IN_FLIGHT (16 MB): 40 of them overflow it, and the replica sheds.
    const attack = await startSlowReaders(t, replica, '/api/v1/todos', [{ count: 40, depth: 10 }]);
    /** A read straight at the replica answered `status`, or undefined. */
    const answered = async (status: number): Promise<true | undefined> => {
      const response = await fetch(`${replica}/api/v1/todos`, { signal: AbortSignal.timeout(5_000) }).catch(
        () => undefined,
      );
      await response?.arrayBuffer();
      return response?.status === status || undefined;
    };
    await waitUntil(
      'the replica shedding while their answers are held for them (SHED_MAX_MB_IN_FLIGHT)',
      () => answered(503),
      5_000,
      200,
    );
    t.pass('the replica sheds while their answers are held for them (SHED_MAX_MB_IN_FLIGHT)');
    await waitUntil(
      'the replica serving reads again while the attacker still holds its sockets',
      () => answered(200),
      ENFORCED_WITHIN_MS + 5_000,
      200,
    );
    t.pass('the replica serves reads again while the attacker still holds its sockets');
    const reads = await wellBehavedReads(replica);
    assertWellServed(t, reads, 'straight at the replica, once the stalled connections are closed');
    // Those whose answers (503s among them, once it shed) all fit in the OS's buffers hold
    // nothing of the replica's: they stay open, idle, until the keep-alive timeout.
    const [closed] = await attack.stop();
    t.ok(closed! > 0, `the replica reset the connections whose answers waited in its memory (${closed} of 40)`);
  },
);

/** How the edge's requests ended, counted: `200 --: 100, 200 cD: 18…` (HAProxy's termination state; the Node edge's stalled and aborted). */
function countedEndings(lines: LogLine[]): string {
  const counts = new Map<string, number>();
  for (const line of lines) {
    const termination = typeof line.termination === 'string' ? line.termination : undefined;
    const ending = `${String(line.status)} ${termination ?? (line.stalled ? 'stalled' : line.aborted ? 'aborted' : '--')}`;
    counts.set(ending, (counts.get(ending) ?? 0) + 1);
  }
  return [...counts].map(([ending, count]) => `${ending}: ${count}`).join(', ');
}
