import Type from 'typebox';
import {
  CreateTodoBody,
  CreateTodoHeaders,
  DrainingBody,
  ErrorBody,
  HealthBody,
  ListTodosQuery,
  Todo,
  TodoIdParams,
  TodoList,
  UpdateTodoBody,
} from './schemas.js';

/** The error statuses any operation with a JSON body can answer besides its own. */
const bodyErrors = { 400: ErrorBody, 413: ErrorBody, 415: ErrorBody } as const;

/**
 * Fastify route schemas of every v1 operation, keyed by operationId. Services register their
 * handlers with these, and the OpenAPI document is generated from them.
 */
export const operationSchemas = {
  health: {
    operationId: 'health',
    summary: 'Health: answers without touching the database; 503 while the replica drains before shutdown.',
    tags: ['health'],
    response: { 200: HealthBody, 503: DrainingBody },
  },
  listTodos: {
    operationId: 'listTodos',
    summary: 'List todos, newest first.',
    tags: ['todos'],
    querystring: ListTodosQuery,
    response: {
      200: TodoList,
      304: Type.Null({ description: 'Not modified: the If-None-Match ETag is current.' }),
      400: ErrorBody,
    },
  },
  getTodo: {
    operationId: 'getTodo',
    summary: 'One todo by id.',
    tags: ['todos'],
    params: TodoIdParams,
    response: { 200: Todo, 304: Type.Null({ description: 'Not modified.' }), 404: ErrorBody },
  },
  createTodo: {
    operationId: 'createTodo',
    summary: 'Create a todo.',
    tags: ['todos'],
    headers: CreateTodoHeaders,
    body: CreateTodoBody,
    response: { 201: Todo, ...bodyErrors, 422: ErrorBody },
  },
  updateTodo: {
    operationId: 'updateTodo',
    summary: 'Update a todo: absent fields keep their value; deadline_at null clears it.',
    tags: ['todos'],
    params: TodoIdParams,
    body: UpdateTodoBody,
    response: { 200: Todo, ...bodyErrors, 404: ErrorBody },
  },
  deleteTodo: {
    operationId: 'deleteTodo',
    summary: 'Delete a todo and return it.',
    tags: ['todos'],
    params: TodoIdParams,
    response: { 200: Todo, 404: ErrorBody },
  },
} as const;

export type OperationId = keyof typeof operationSchemas;
