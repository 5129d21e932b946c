/**
 * The ceiling: node:http alone sending the list's bytes, serialized once, with the headers
 * todo-read sent them with — what any Node server on this machine could at best do for the
 * same response. The tools run it as a process of its own, like the services, so that it
 * competes with the load generator for the cores exactly as they do; and, like them, under
 * plain Node with no loader (they run compiled): hence JavaScript, with no workspace imports
 * (which plain Node would resolve to dist/, maybe not built). What it shares with the services
 * comes in its environment, from @taskoverflow/routing (lib/ceiling.ts, ceilingServerEnv).
 *
 * Environment: HOST, PORT, CEILING_BODY_FILE (the bytes), CEILING_HEADERS (a JSON object),
 * CEILING_HEALTH_PATH (answered 200, for the readiness check; every other path gets the body),
 * CEILING_KEEP_ALIVE_TIMEOUT_MS (the services'), CEILING_LISTEN_BACKLOG (the edge's).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

/** @param {string} name */
function requiredEnv(name) {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(
      `ceiling server: ${name} is not set; it is started by pnpm bench, pnpm loadtest and pnpm edge-cost, which set it\n`,
    );
    process.exit(1);
  }
  return value;
}

const body = readFileSync(requiredEnv('CEILING_BODY_FILE'));
/** @type {Record<string, string>} */
const headers = JSON.parse(requiredEnv('CEILING_HEADERS'));
const healthPath = requiredEnv('CEILING_HEALTH_PATH');
const healthBody = Buffer.from('{"status":"ok"}');

const server = createServer((request, response) => {
  if (request.url === healthPath) {
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(healthBody);
    return;
  }
  response.writeHead(200, headers).end(body);
});
server.keepAliveTimeout = Number(requiredEnv('CEILING_KEEP_ALIVE_TIMEOUT_MS'));
server.listen({
  port: Number(requiredEnv('PORT')),
  host: requiredEnv('HOST'),
  backlog: Number(requiredEnv('CEILING_LISTEN_BACKLOG')),
});
