/**
 * Runs the edge on its own, e.g. in docker-compose:
 *   READ_UPSTREAMS=http://127.0.0.1:3101,http://127.0.0.1:3102 WRITE_UPSTREAMS=http://127.0.0.1:3201 \
 *     node packages/edge/dist/server.js
 * Started by `pnpm start` with an IPC channel, it reports its address and takes register and
 * deregister requests over it (control.ts).
 */
import { SERVICES } from '@taskoverflow/routing';
import { INVALID_CONFIGURATION_CODE } from '@taskoverflow/config';
import { readEdgeConfig } from './config.js';
import type { EdgeControlRequest, EdgeMessage } from './control.js';
import { buildEdge, type Edge } from './edge.js';

const send = (message: EdgeMessage): void => void process.send?.(message);

async function main(): Promise<void> {
  const config = readEdgeConfig(process.env);
  const edge = await buildEdge({
    upstreams: config.upstreams,
    queue: config.queue,
    limits: config.limits,
    ...(config.allowedHosts && { allowedHosts: config.allowedHosts }),
    logging: { level: config.logLevel, file: config.logFile },
    statsIntervalMs: config.statsIntervalMs,
  });
  const url = await edge.listen({ host: config.host, port: config.port });

  const close = async (): Promise<void> => {
    await edge.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void close());
  process.once('SIGINT', () => void close());

  if (process.send) {
    process.on('message', (request: EdgeControlRequest) => void control(edge, request));
    process.once('disconnect', () => void close());
    send({ type: 'listening', url });
  } else {
    const routes = Object.entries(config.upstreams).map(([service, urls]) => `${service} → ${urls.join(', ')}`);
    console.log(`edge listening on ${url}; ${routes.join('; ')}`);
  }
}

async function control(edge: Edge, { id, op, service, url }: EdgeControlRequest): Promise<void> {
  try {
    if (!SERVICES.includes(service))
      throw new Error(`no target group for "${service}"; the services are ${SERVICES.join(', ')}`);
    const group = edge.targetGroups[service];
    const origin = new URL(url).origin;
    await (op === 'register' ? group.register(origin) : group.deregister(origin));
    send({ type: 'reply', id });
  } catch (error) {
    send({ type: 'reply', id, error: (error as Error).message });
  }
}

main().catch((error: unknown) => {
  const code = (error as NodeJS.ErrnoException).code;
  let message: string;
  if (code === INVALID_CONFIGURATION_CODE) {
    message = (error as Error).message;
  } else if (code === 'EADDRINUSE' || code === 'EACCES') {
    message = `cannot listen: ${(error as Error).message}. Choose another port with PORT=…`;
  } else {
    message = `failed to start: ${(error as Error).stack ?? String(error)}`;
  }
  console.error(`edge: ${message}`);
  if (process.send)
    process.send({ type: 'failed', message, ...(code && { code }) } satisfies EdgeMessage, () => process.exit(1));
  else process.exit(1);
});
