/**
 * The ceiling: node:http alone sending the list's bytes, serialized once, with the headers
 * todo-read sent them with — what any Node server on this machine could at best do for the
 * same response. The bench runs it as a process of its own, like the services, so that it
 * competes with the load generator for the cores exactly as they do.
 *
 * Environment: HOST, PORT, CEILING_BODY_FILE (the bytes), CEILING_HEADERS (a JSON object).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
// HEALTH_PATH is answered 200 so that the bench's readiness check passes; every other path gets the list.
// KEEP_ALIVE_TIMEOUT_MS as the services'.
import { HEALTH_PATH, KEEP_ALIVE_TIMEOUT_MS } from '@taskoverflow/routing';

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`ceiling server: ${name} is not set; it is started by pnpm bench, which sets it\n`);
    process.exit(1);
  }
  return value;
}

const body = readFileSync(requiredEnv('CEILING_BODY_FILE'));
const headers = JSON.parse(requiredEnv('CEILING_HEADERS')) as Record<string, string>;
const healthBody = Buffer.from('{"status":"ok"}');

const server = createServer((request, response) => {
  if (request.url === HEALTH_PATH) {
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(healthBody);
    return;
  }
  response.writeHead(200, headers).end(body);
});
server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
server.listen(Number(requiredEnv('PORT')), requiredEnv('HOST'));
