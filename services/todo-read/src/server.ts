import { checkDatabaseConnection } from '@taskoverflow/db';
import { checkRedisConnection, runService, warnRedisUnavailable } from '@taskoverflow/http-kit';
import { buildTodoReadApp, loadConfig } from './app.js';

await runService({
  name: 'todo-read',
  loadConfig,
  // Fail fast on what a restart cannot fix: a task that cannot use its database, or that Redis
  // rejects (AUTH, TLS), exits before it listens, so a bad DATABASE_URL, password, CA bundle
  // or token fails the deploy instead of passing health checks. A Redis that does not answer
  // (refused, timed out: a cache node being replaced) is an outage the read path is built to
  // serve through, so the replica starts uncached rather than crash-loop.
  build: async (config) => {
    await checkDatabaseConnection(config.database);
    const redisUrl = config.cache.redisUrl;
    const redis = redisUrl ? await checkRedisConnection(redisUrl) : undefined;
    const app = await buildTodoReadApp(config);
    if (redisUrl && redis && !redis.available) {
      warnRedisUnavailable(app.log, redisUrl, redis.reason, 'serving uncached, every read from PostgreSQL,');
    }
    return app;
  },
});
