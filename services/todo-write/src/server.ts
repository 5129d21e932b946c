import { checkDatabaseConnection } from '@taskoverflow/db';
import { checkRedisConnection, runService, warnRedisUnavailable } from '@taskoverflow/http-kit';
import { buildTodoWriteApp, loadConfig } from './app.js';

await runService({
  name: 'todo-write',
  loadConfig,
  // As todo-read: exit on what a restart cannot fix (the database, a Redis that rejects the
  // service), start on a Redis that does not answer. Writes then answer as they do through any
  // Redis outage: committed, with the cache invalidation retried until it goes through.
  build: async (config) => {
    await checkDatabaseConnection(config.database);
    const redisUrl = config.cache.redisUrl;
    const redis = redisUrl ? await checkRedisConnection(redisUrl) : undefined;
    const app = await buildTodoWriteApp(config);
    if (redisUrl && redis && !redis.available) {
      warnRedisUnavailable(app.log, redisUrl, redis.reason, 'writes answer and their cache invalidations are retried');
    }
    return app;
  },
});
