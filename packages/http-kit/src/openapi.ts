import fastifySwagger from '@fastify/swagger';
import { operationSchemas } from '@taskoverflow/domain';
import { apiOperations, OPENAPI_PATH } from '@taskoverflow/routing';
import type { FastifyInstance } from 'fastify';
import Fastify from 'fastify';
import { fastifyOptions } from './app.js';
import { addServiceWideDocumentation, REQUEST_ID_RULE, type OpenApiDocument } from './openapi-extras.js';

/**
 * The OpenAPI document of the whole v1 API. Each service registers only its own routes, so
 * the document is generated from every operation's route schema in a separate,
 * never-listening Fastify instance configured like the services.
 */
export async function buildOpenApiDocument(version: string): Promise<unknown> {
  const app = Fastify({ ...fastifyOptions(), logger: false });
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'TaskOverflow API',
        version,
        description:
          'Todo API. Reads (GET) are served by todo-read from a cache; writes by todo-write. ' +
          'Every error is JSON {"error": "..."}. Every response carries x-request-id, the correlation id of ' +
          `its log lines; a request may bring its own. ${REQUEST_ID_RULE} ` +
          'A method the API does not have on a path is a 405 with Allow; an unknown path a 404.',
      },
      tags: [{ name: 'todos' }, { name: 'health' }],
    },
  });
  for (const operation of apiOperations) {
    app.route({
      method: operation.method,
      url: operation.url,
      schema: operationSchemas[operation.operationId],
      handler: () => {
        throw new Error('documentation-only route');
      },
    });
  }
  await app.ready();
  const document = app.swagger() as unknown as OpenApiDocument;
  await app.close();
  addServiceWideDocumentation(document);
  return document;
}

/** Serves the OpenAPI document at /api/v1/openapi.json. */
export async function openApiRoute(app: FastifyInstance, { version }: { version: string }): Promise<void> {
  const body = JSON.stringify(await buildOpenApiDocument(version));
  app.get(OPENAPI_PATH, { schema: { hide: true } }, (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(body),
  );
}
