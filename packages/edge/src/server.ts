/**
 * Runs the edge on its own, e.g. in docker-compose:
 *   READ_UPSTREAMS=http://127.0.0.1:3101,http://127.0.0.1:3102 WRITE_UPSTREAMS=http://127.0.0.1:3201 \
 *     node --import tsx --conditions=development packages/edge/src/server.ts
 */
import { EdgeConfigError, readEdgeConfig } from './config.js';
import { buildEdge } from './edge.js';

async function main(): Promise<void> {
  const config = readEdgeConfig(process.env);
  const edge = await buildEdge({ upstreams: config.upstreams, logging: { level: process.env.LOG_LEVEL || 'info' } });
  const address = await edge.listen({ host: config.host, port: config.port });
  const routes = Object.entries(config.upstreams).map(([service, urls]) => `${service} → ${urls.join(', ')}`);
  console.log(`edge listening on ${address}; ${routes.join('; ')}`);

  const close = async (): Promise<void> => {
    await edge.close();
    process.exit(0);
  };
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
}

main().catch((error: unknown) => {
  const code = (error as NodeJS.ErrnoException).code;
  if (error instanceof EdgeConfigError) {
    console.error(`edge: ${error.message}`);
  } else if (code === 'EADDRINUSE' || code === 'EACCES') {
    console.error(`edge: cannot listen: ${(error as Error).message}. Choose another port with PORT=…`);
  } else {
    console.error('edge: failed to start:', error);
  }
  process.exit(1);
});
