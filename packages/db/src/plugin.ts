import fastifyPostgres from '@fastify/postgres';
import type { FastifyInstance } from 'fastify';
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
 * with `db`, a kysely instance over that pool.
 */
export const databasePlugin = fp(
  async function databasePlugin(app: FastifyInstance, options: DatabasePluginOptions) {
    await app.register(fastifyPostgres, poolConfig(options));
    app.decorate('db', createDb(app.pg.pool));
  },
  { fastify: '5.x', name: 'taskoverflow-database' },
);
