import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { PortInUseError } from './errors.js';

/**
 * `count` distinct ports that are free on `host` right now. Another process could take one
 * before the caller binds it; on a developer machine and in tests that race is rare enough.
 */
export async function findFreePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  // Held open together, so that the system cannot hand out the same port twice.
  const servers = Array.from({ length: count }, () => createServer().listen(0, host));
  try {
    await Promise.all(servers.map((server) => once(server, 'listening')));
    return servers.map((server) => (server.address() as AddressInfo).port);
  } finally {
    for (const server of servers) server.close();
  }
}

export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await findFreePorts(1, host);
  return port!;
}

/** Fails fast with PortInUseError, before anything slow starts, if `port` is taken. */
export async function assertPortFree(host: string, port: number): Promise<void> {
  const server = createServer();
  try {
    server.listen(port, host);
    await once(server, 'listening');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(port, host);
    throw error;
  } finally {
    server.close();
  }
}
