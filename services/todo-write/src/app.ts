import { cacheInvalidationPlugin } from '@taskoverflow/cache';
import { databasePlugin } from '@taskoverflow/db';
import { buildServiceApp, rateLimitPlugin, type ServiceApp } from '@taskoverflow/http-kit';
import type { TodoWriteConfig } from './config.js';
import { todoWriteRoutes } from './routes/todos.js';

export type TodoWriteOptions = Pick<TodoWriteConfig, 'database' | 'cache' | 'rateLimit' | 'idempotencyWindowSeconds'>;

/** The todo-write service as a plugin: POST/PUT/DELETE routes that invalidate todo-read's cache. */
export async function todoWrite(app: ServiceApp, options: TodoWriteOptions): Promise<void> {
  await app.register(databasePlugin, options.database);
  await app.register(cacheInvalidationPlugin, options.cache);
  await app.register(rateLimitPlugin, { settings: options.rateLimit, service: 'todo-write', redis: app.redis });
  await app.register(todoWriteRoutes, { idempotencyWindowSeconds: options.idempotencyWindowSeconds });
}

export function buildTodoWriteApp(config: TodoWriteConfig): Promise<ServiceApp> {
  return buildServiceApp('todo-write', config, todoWrite);
}

export { loadConfig, type TodoWriteConfig } from './config.js';
