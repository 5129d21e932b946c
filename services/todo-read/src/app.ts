import { responseCachePlugin } from '@taskoverflow/cache';
import { API_VERSION } from '@taskoverflow/domain';
import { databasePlugin } from '@taskoverflow/db';
import { buildServiceApp, openApiRoute, rateLimitPlugin, type ServiceApp } from '@taskoverflow/http-kit';
import type { TodoReadConfig } from './config.js';
import { todoReadRoutes } from './routes/todos.js';
import { webUi } from './routes/web-ui.js';

export type TodoReadOptions = Pick<TodoReadConfig, 'database' | 'cache' | 'rateLimit'>;

/** The todo-read service as a plugin: cached GET routes, the OpenAPI document and the web UI. */
export async function todoRead(app: ServiceApp, options: TodoReadOptions): Promise<void> {
  await app.register(databasePlugin, options.database);
  await app.register(responseCachePlugin, options.cache);
  await app.register(rateLimitPlugin, { settings: options.rateLimit, service: 'todo-read', redis: app.redis });
  await app.register(openApiRoute, { version: API_VERSION });
  await app.register(todoReadRoutes, { cacheTtlSeconds: options.cache.ttlSeconds });
  await app.register(webUi);
}

export function buildTodoReadApp(config: TodoReadConfig): Promise<ServiceApp> {
  return buildServiceApp('todo-read', config, todoRead);
}

export { loadConfig, type TodoReadConfig } from './config.js';
