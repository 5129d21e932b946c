import { databasePlugin } from '@taskoverflow/db';
import { createServiceApp, type ServiceApp } from '@taskoverflow/http-kit';
import type { TodoWriteConfig } from './config.js';
import { todoWriteRoutes } from './routes/todos.js';

export type TodoWriteOptions = Pick<TodoWriteConfig, 'database'>;

/** The todo-write service as a plugin: POST/PUT/DELETE routes. */
export async function todoWrite(app: ServiceApp, options: TodoWriteOptions): Promise<void> {
  await app.register(databasePlugin, options.database);
  await app.register(todoWriteRoutes);
}

export async function buildTodoWriteApp(config: TodoWriteConfig): Promise<ServiceApp> {
  const app = createServiceApp({ service: 'todo-write', logLevel: config.logLevel, instance: config.instance });
  await app.register(todoWrite, config);
  return app;
}

export { loadConfig, type TodoWriteConfig } from './config.js';
