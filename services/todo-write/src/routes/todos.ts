import {
  operationSchemas,
  parseInputDate,
  parseTodoId,
  TODO_NOT_FOUND,
  type UpdateTodoBody,
} from '@taskoverflow/domain';
import { deleteTodo, insertTodo, updateTodo, type TodoRowUpdate } from '@taskoverflow/db';
import type { ServiceApp } from '@taskoverflow/http-kit';

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

/**
 * POST/PUT/DELETE routes of the v1 API. Each successful write invalidates todo-read's cache
 * after it commits and before it answers: that ordering is the read-your-writes guarantee.
 */
export async function todoWriteRoutes(app: ServiceApp): Promise<void> {
  app.post('/api/v1/todos', { schema: operationSchemas.createTodo }, async (request, reply) => {
    const { title, description = null, completed = false, deadline_at } = request.body;
    const todo = await insertTodo(app.db, { title, description, completed, deadline_at: toTimestamp(deadline_at) });
    await app.invalidateCachedReads();
    return reply.code(201).send(todo);
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
