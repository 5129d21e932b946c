import { allowedMethods, routeRequest, type ServiceName } from '@taskoverflow/routing';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Answers requests no route of this service matched, knowing the whole API contract:
 * an unknown path is a 404, a known path with a method the API does not allow is a 405 with
 * `Allow`, and a request the load balancer should have sent to the other service is a 421.
 *
 * The answer is given in `onRequest`, before Fastify looks at the body: otherwise the body's
 * framing decides first (a QUERY without Content-Type is Fastify's own 400, a DELETE with
 * malformed JSON a 400) although no route would ever read it.
 */
export function installNotFoundHandler(app: FastifyInstance, service: ServiceName): void {
  const answer = (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?', 1)[0] ?? '/';
    const allowed = allowedMethods(path);
    const send = (status: number, error: string) =>
      reply.code(status).type('application/json; charset=utf-8').send({ error });
    if (allowed.length === 0) return send(404, `Not found: ${request.method} ${path}`);
    if (!(allowed as string[]).includes(request.method)) {
      reply.header('allow', allowed.join(', '));
      return send(405, `Method ${request.method} not allowed on ${path}; allowed: ${allowed.join(', ')}`);
    }
    const owner = routeRequest(request.method, path);
    if (owner === service) return send(404, `Not found: ${request.method} ${path}`);
    return send(
      421,
      `${request.method} ${path} is served by ${owner}, not ${service}: send it through the load balancer`,
    );
  };
  // A callback hook, not an async one: it runs on every request, and a promise each is not free.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.is404) answer(request, reply);
    else done();
  });
  // The same answer wherever else Fastify would fall back on its own not-found reply.
  app.setNotFoundHandler(answer);
}
