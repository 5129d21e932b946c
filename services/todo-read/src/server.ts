import { checkDatabaseConnection } from '@taskoverflow/db';
import { checkRedisConnection, runService } from '@taskoverflow/http-kit';
import { buildTodoReadApp, loadConfig } from './app.js';

await runService({
  name: 'todo-read',
  loadConfig,
  // Fail fast: a task that cannot use its database or its cache exits before it listens, so a
  // bad DATABASE_URL, password or CA bundle fails the deploy instead of passing health checks.
  build: async (config) => {
    await checkDatabaseConnection(config.database);
    if (config.cache.redisUrl) await checkRedisConnection(config.cache.redisUrl);
    return buildTodoReadApp(config);
  },
});
