import { checkDatabaseConnection } from '@taskoverflow/db';
import { checkRedisConnection, runService } from '@taskoverflow/http-kit';
import { buildTodoWriteApp, loadConfig } from './app.js';

await runService({
  name: 'todo-write',
  loadConfig,
  // Fail fast, as todo-read does: no listening without the database and the cache.
  build: async (config) => {
    await checkDatabaseConnection(config.database);
    if (config.cache.redisUrl) await checkRedisConnection(config.cache.redisUrl);
    return buildTodoWriteApp(config);
  },
});
