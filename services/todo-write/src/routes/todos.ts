import { createHash } from 'node:crypto';
import {
  IDEMPOTENCY_KEY_REUSED,
  operationSchemas,
  parseInputDate,
  parseTodoId,
  TODO_NOT_FOUND,
  type CreateTodoBody,
  type UpdateTodoBody,
} from '@taskoverflow/domain';
import { deleteTodo, insertTodo, insertTodoOnce, updateTodo, type TodoRowUpdate } from '@taskoverflow/db';
import type { ServiceApp } from '@taskoverflow/http-kit';
import type { FastifyReply } from 'fastify';

/** The schema's `iso8601` format has already accepted the value, so it parses. */
function toTimestamp(deadline: string | null | undefined): string | null {
  return deadline == null ? null : (parseInputDate(deadline) ?? null);
}

function toChanges(body: UpdateTodoBody): Omit<TodoRowUpdate, 'id' | 'updated_at'> {
  return {
    ...(body.title !== undefined && { title: body.title }),
    ...(body.description !== undefined && { description: body.description }),
    ...(body.completed !== undefined && { completed: body.completed }),
    ...(body.deadline_at !== undefined && { deadline_at: toTimestamp(body.deadline_at) }),
  };
}

/** Identifies a create request's content, whatever the order of its keys. */
function requestHash(body: CreateTodoBody): string {
  const canonical = JSON.stringify(Object.fromEntries(Object.entries(body).sort(([a], [b]) => a.localeCompare(b))));
  return createHash('sha256').update(canonical).digest('hex');
}

export interface TodoWriteRoutesOptions {
  /** How long an Idempotency-Key holds the outcome of its first request. */
  idempotencyWindowSeconds: number;
}

/**
 * POST/PUT/DELETE routes of the v1 API. Each successful write invalidates todo-read's cache
 * after it commits and before it answers: that ordering is the read-your-writes guarantee.
 */
export async function todoWriteRoutes(app: ServiceApp, options: TodoWriteRoutesOptions): Promise<void> {
  app.post('/api/v1/todos', { schema: operationSchemas.createTodo }, async (request, reply) => {
    const { title, description = null, completed = false, deadline_at } = request.body;
    const values = { title, description, completed, deadline_at: toTimestamp(deadline_at) };
    const key = request.headers['idempotency-key'];
    if (key === undefined) {
      const todo = await insertTodo(app.db, values);
      await app.invalidateCachedReads();
      return reply.code(201).send(todo);
    }
    const idempotency = {
      key,
      requestHash: requestHash(request.body),
      windowSeconds: options.idempotencyWindowSeconds,
    };
    const result = await insertTodoOnce(app.db, idempotency, values);
    switch (result.outcome) {
      case 'created':
        await app.invalidateCachedReads();
        return reply.code(201).send(result.todo);
      case 'replayed':
        // Not the key itself: whoever reads the logs could replay a client's create with it.
        request.log.info('idempotent retry: replaying the first response');
        // The first attempt may have committed after its request gave up on the database (a
        // 503 on a query deadline) and so never invalidated: this answer must not be stale.
        await app.invalidateCachedReads();
        // The stored bytes of the first response, sent as they are (not re-serialized).
        return (reply as unknown as FastifyReply)
          .code(result.status)
          .header('idempotent-replayed', 'true')
          .type('application/json; charset=utf-8')
          .send(result.body);
      case 'key-reused':
        return reply.code(422).send({ error: IDEMPOTENCY_KEY_REUSED });
    }
  });

  app.put('/api/v1/todos/:id', { schema: operationSchemas.updateTodo }, async (request, reply) => {
    const id = parseTodoId(request.params.id);
    const todo = id === undefined ? undefined : await updateTodo(app.db, id, toChanges(request.body));
    if (!todo) return reply.code(404).send({ error: TODO_NOT_FOUND });
    await app.invalidateCachedReads();
    return todo;
  });

  app.delete('/api/v1/todos/:id', { schema: operationSchemas.deleteTodo }, async (request, reply) => {
    const id = parseTodoId(request.params.id);
    const todo = id === undefined ? undefined : await deleteTodo(app.db, id);
    if (!todo) return reply.code(404).send({ error: TODO_NOT_FOUND });
    await app.invalidateCachedReads();
    return todo;
  });
}
