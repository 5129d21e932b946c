import fastifyPostgres from '@fastify/postgres';
import type { FastifyInstance } from 'fastify';
import { QueryLog } from '@taskoverflow/observability';
import fp from 'fastify-plugin';
import { createDb, poolConfig, type Db, type PoolSettings } from './connection.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: Db;
  }
}

export type DatabasePluginOptions = PoolSettings;

/**
 * Registers the pg pool (@fastify/postgres, which closes it on shutdown) and decorates the app
 * with `db`, a kysely instance over that pool that logs every query under the current request.
 */
export const databasePlugin = fp(
  async function databasePlugin(app: FastifyInstance, options: DatabasePluginOptions) {
    await app.register(fastifyPostgres, poolConfig(options));
    // An idle connection dies when PostgreSQL restarts; the pool reports it here and opens a
    // new one on demand. Without a listener the 'error' event would crash the process.
    app.pg.pool.on('error', (error) =>
      app.log.warn({ err: error }, 'idle PostgreSQL connection lost; the pool replaces it'),
    );
    const queryLog = new QueryLog(app.log);
    app.decorate('db', createDb(app.pg.pool, { log: queryLog.log, plugins: [queryLog] }));
  },
  { fastify: '5.x', name: 'taskoverflow-database' },
);
