import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Closes every connection whose response has had bytes waiting for the client (the OS's send
 * buffer full, the rest held in the process) for `timeoutMs` or longer: a client that stops
 * reading has left, and must not keep its request counted in flight, its response's bytes in
 * memory (SHED_MAX_MB_IN_FLIGHT) or its connection. Behind the edge or the ALB this never
 * fires; it is for a replica reached without them, and for a proxy whose own client stalled
 * longer than the proxy's bound.
 *
 * One sweep over the open connections a fraction of the bound apart, so a response costs
 * nothing per request: a connection is taken for stalled when every sweep over `timeoutMs`
 * found bytes waiting on it. A client reading steadily takes what is waiting between sweeps.
 */
export function closeUndrainedConnections(server: Server, timeoutMs: number): void {
  /** Each open connection, and since when (ms) the sweeps have found bytes waiting on it; 0: none. */
  const undrainedSince = new Map<Socket, number>();
  server.on('connection', (socket: Socket) => {
    undrainedSince.set(socket, 0);
    socket.once('close', () => undrainedSince.delete(socket));
  });
  const sweep = setInterval(
    () => {
      const now = performance.now();
      for (const [socket, since] of undrainedSince) {
        if (socket.writableLength === 0) {
          if (since !== 0) undrainedSince.set(socket, 0);
        } else if (since === 0) {
          undrainedSince.set(socket, now);
        } else if (now - since >= timeoutMs) {
          // A reset, not a close: what the OS still holds for this client is freed too.
          socket.resetAndDestroy();
        }
      }
    },
    Math.min(1_000, timeoutMs / 4),
  ).unref();
  server.once('close', () => clearInterval(sweep));
}
