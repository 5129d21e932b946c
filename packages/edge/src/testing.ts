/**
 * Test helpers for the edge's neighbours, imported as `@taskoverflow/edge/testing` (and
 * re-exported by `@taskoverflow/stack/testing`). They live here, not in the stack's helpers,
 * because the stack depends on the edge: the edge's own tests cannot import the stack.
 */
import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP server on a free loopback port, answering with `handler`: an upstream replica
 * for an edge under test. Resolves with its base URL; the owner's clean-up (a tap test's
 * teardown) closes it and any connection still open to it.
 */
export async function startUpstream(
  owner: { teardown(cleanUp: () => void): void },
  handler: RequestListener,
): Promise<string> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  owner.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
