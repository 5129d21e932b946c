import { operationSchemas, parseTodoId, TODO_NOT_FOUND, type ListTodosQuery } from '@taskoverflow/domain';
import { findTodo, listTodos, type TodoFilter } from '@taskoverflow/db';
import type { ServiceApp } from '@taskoverflow/http-kit';

function toFilter(query: ListTodosQuery): TodoFilter {
  return {
    ...(query.completed !== undefined && { completed: query.completed === 'true' }),
    ...(query.window !== undefined && { windowDays: Number(query.window) }),
  };
}

/** GET routes of the v1 API. */
export async function todoReadRoutes(app: ServiceApp): Promise<void> {
  app.get('/api/v1/todos', { schema: operationSchemas.listTodos }, async (request) =>
    listTodos(app.db, toFilter(request.query)),
  );

  app.get('/api/v1/todos/:id', { schema: operationSchemas.getTodo }, async (request, reply) => {
    const id = parseTodoId(request.params.id);
    const todo = id === undefined ? undefined : await findTodo(app.db, id);
    if (!todo) return reply.code(404).send({ error: TODO_NOT_FOUND });
    return todo;
  });
}
