import { etagMatches, jsonResponse, type CachedResponse } from '@taskoverflow/cache';
import { operationSchemas, parseTodoId, TODO_NOT_FOUND, type ListTodosQuery } from '@taskoverflow/domain';
import { findTodo, listTodos, type TodoFilter } from '@taskoverflow/db';
import type { ServiceApp } from '@taskoverflow/http-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TodoLists } from '../todo-lists.js';

export interface TodoReadRoutesOptions {
  /** Lifetime of cached responses that depend only on the data. */
  cacheTtlSeconds: number;
}

function toFilter(query: ListTodosQuery): TodoFilter {
  return {
    ...(query.completed !== undefined && { completed: query.completed === 'true' }),
    ...(query.window !== undefined && { windowDays: Number(query.window) }),
  };
}

/**
 * GET routes of the v1 API, answered from the response cache when there is one: every list
 * from the cached full list (TodoLists), without it from PostgreSQL, filtered there.
 */
export async function todoReadRoutes(app: ServiceApp, options: TodoReadRoutesOptions): Promise<void> {
  const cached = (key: string, ttlSeconds: number, load: () => Promise<CachedResponse>) =>
    app.responseCache ? app.responseCache.get(key, ttlSeconds, load) : load();
  const lists =
    app.responseCache &&
    new TodoLists({
      cache: app.responseCache,
      ttlSeconds: options.cacheTtlSeconds,
      load: async () => jsonResponse(200, await listTodos(app.db)),
    });

  app.get('/api/v1/todos', { schema: operationSchemas.listTodos }, async (request, reply) => {
    const filter = toFilter(request.query);
    const response = lists ? await lists.get(filter) : jsonResponse(200, await listTodos(app.db, filter));
    return send(request, reply, response);
  });

  app.get('/api/v1/todos/:id', { schema: operationSchemas.getTodo }, async (request, reply) => {
    const id = parseTodoId(request.params.id);
    if (id === undefined) return reply.code(404).send({ error: TODO_NOT_FOUND });
    const response = await cached(`todos:id=${id}`, options.cacheTtlSeconds, async () => {
      const todo = await findTodo(app.db, id);
      return todo ? jsonResponse(200, todo) : jsonResponse(404, { error: TODO_NOT_FOUND });
    });
    return send(request, reply, response);
  });
}

/**
 * Sends cached bytes as they are (no serialization), with their ETag; a matching
 * If-None-Match gets a 304. `no-cache`: clients may keep a copy but must revalidate, which
 * is what keeps read-your-writes true for them too.
 */
function send(request: FastifyRequest, reply: FastifyReply, response: CachedResponse): FastifyReply {
  reply.header('cache-control', 'no-cache');
  if (response.status !== 200)
    return reply.code(response.status).type('application/json; charset=utf-8').send(response.body);
  reply.header('etag', response.etag);
  if (etagMatches(request.headers['if-none-match'], response.etag)) return reply.code(304).send();
  return reply.code(200).type('application/json; charset=utf-8').send(response.body);
}
