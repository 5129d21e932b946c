import t from 'tap';
import {
  allowedMethods,
  apiOperations,
  operationsServedBy,
  routeRequest,
  routingRules,
  serviceOf,
} from '../src/index.js';

t.test('reads go to todo-read and writes to todo-write', async (t) => {
  t.equal(routeRequest('GET', '/api/v1/todos'), 'todo-read');
  t.equal(routeRequest('HEAD', '/api/v1/todos/7'), 'todo-read');
  t.equal(routeRequest('GET', '/'), 'todo-read');
  t.equal(routeRequest('POST', '/api/v1/todos'), 'todo-write');
  t.equal(routeRequest('PUT', '/api/v1/todos/7'), 'todo-write');
  t.equal(routeRequest('DELETE', '/api/v1/todos/7'), 'todo-write');
  t.equal(routeRequest('PATCH', '/api/v1/todos/7'), 'todo-read', 'unmatched requests take the default action');
  t.equal(routeRequest('POST', '/elsewhere'), 'todo-read');
});

t.test('every operation is served by the expected service', async (t) => {
  t.same(
    operationsServedBy('todo-read')
      .map((o) => o.operationId)
      .sort(),
    ['getTodo', 'health', 'listTodos'],
  );
  t.same(
    operationsServedBy('todo-write')
      .map((o) => o.operationId)
      .sort(),
    ['createTodo', 'deleteTodo', 'updateTodo'],
  );
  for (const operation of apiOperations) {
    t.equal(serviceOf(operation), operation.method === 'GET' ? 'todo-read' : 'todo-write', operation.operationId);
  }
});

t.test('rules have unique priorities and at least one method and path each', async (t) => {
  for (const rule of routingRules) t.ok(rule.methods.length > 0 && rule.pathPatterns.length > 0, rule.name);
  t.equal(new Set(routingRules.map((r) => r.priority)).size, routingRules.length, 'priorities are unique');
});

t.test('allowedMethods knows the contract', async (t) => {
  t.same(allowedMethods('/api/v1/todos'), ['GET', 'HEAD', 'POST']);
  t.same(allowedMethods('/api/v1/todos/12'), ['GET', 'HEAD', 'PUT', 'DELETE']);
  t.same(allowedMethods('/api/v1/todos/12/'), ['GET', 'HEAD', 'PUT', 'DELETE']);
  t.same(allowedMethods('/api/v1/health'), ['GET', 'HEAD']);
  t.same(allowedMethods('/api/v1/nothing'), []);
  t.same(allowedMethods('/api/v1/todos/1/2'), []);
});
