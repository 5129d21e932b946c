/**
 * The edge as `pnpm start` runs it, with each balancer: the Node edge's compiled entry in a
 * child process (replicas registered over its IPC channel) and HAProxy (over its runtime API).
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { BALANCER_KINDS, startBalancer, type BalancerKind } from '../src/balancer.js';
import type { EdgeProcess } from '../src/edge-process.js';
import { startUpstream } from '../src/testing.js';

/** A replica that answers every request with its name. */
function namedUpstream(t: Test, name: string): Promise<string> {
  return startUpstream(t, (_request, response) => response.end(JSON.stringify({ replica: name })));
}

async function startEdge(
  t: Test,
  kind: BalancerKind,
  upstreams: { read: string[]; write: string[] },
  port = 0,
): Promise<EdgeProcess> {
  const edge = await startBalancer({
    kind,
    host: '127.0.0.1',
    port,
    upstreams: { 'todo-read': upstreams.read, 'todo-write': upstreams.write },
    env: { LOG_LEVEL: 'warn' },
    onLine: (line) => t.comment(`edge: ${line}`),
  });
  t.teardown(() => edge.stop());
  return edge;
}

/** Which replicas served `count` reads in a row. */
async function readers(url: string, count: number): Promise<string[]> {
  const names = [];
  for (let i = 0; i < count; i += 1)
    names.push(((await (await fetch(`${url}/api/v1/todos`)).json()) as { replica: string }).replica);
  return names;
}

for (const kind of BALANCER_KINDS) {
  t.test(
    `${kind}: replicas are registered and deregistered in the running edge over its control channel`,
    async (t) => {
      const first = await namedUpstream(t, 'first');
      const second = await namedUpstream(t, 'second');
      const edge = await startEdge(t, kind, { read: [first], write: [first] });
      t.match(edge.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      t.same(await readers(edge.url, 2), ['first', 'first']);

      await edge.register('todo-read', second);
      t.same(
        new Set(await readers(edge.url, 2)),
        new Set(['first', 'second']),
        'the registered replica takes its turn',
      );

      await edge.deregister('todo-read', first);
      t.same(await readers(edge.url, 3), ['second', 'second', 'second'], 'the deregistered one gets nothing');

      await t.rejects(edge.register('todo-nothing' as 'todo-read', second), {
        code: 'TASKOVERFLOW_EDGE_CONTROL_FAILED',
        message: /^the edge refused: no target group for "todo-nothing"/,
      });

      await edge.stop();
      await t.rejects(fetch(`${edge.url}/api/v1/todos`), 'stopped, it no longer listens');
    },
  );

  t.test(`${kind}: a taken port fails the start with PortInUseError, naming the port`, async (t) => {
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    t.teardown(() => taken.close());
    const upstream = await namedUpstream(t, 'any');
    const { port } = taken.address() as AddressInfo;
    await t.rejects(startEdge(t, kind, { read: [upstream], write: [upstream] }, port), {
      code: 'TASKOVERFLOW_PORT_IN_USE',
      message: `port ${port} on 127.0.0.1 is already in use: stop whatever listens there, or choose another port`,
    });
  });
}
