export { buildServices } from './build.js';
export { startLocalStack, type LocalStack, type LocalStackOptions } from './stack.js';
export type { ServiceInstance } from './service-fleet.js';
export { startEmbeddedPostgres, type EmbeddedPostgres, type EmbeddedPostgresOptions } from './postgres.js';
export {
  databaseUrlFor,
  dropDatabase,
  ensureDatabase,
  ensureLocalServiceRoles,
  LOCAL_MIGRATION_PASSWORD,
  LOCAL_ROLE_PASSWORDS,
  migrateDatabase,
  migrationDatabaseUrl,
  serviceDatabaseUrl,
} from './database.js';
export * from './errors.js';
export { findRedisServer, REDIS_INSTALL_HINT, startRedisServer, type RedisServer } from './redis.js';
// One process at a time, for tools that start their own set (pnpm bench, pnpm loadtest's ceiling).
export { findFreePort, findFreePorts } from './free-port.js';
export { repoRoot, serviceEntry } from './paths.js';
export { startServiceProcess, stopChild, type ServiceProcess, type ServiceProcessOptions } from './processes.js';
export { EDGE_ENTRY, startEdgeProcess, type EdgeProcess, type EdgeProcessOptions } from './edge-process.js';
// CPU and memory from /proc: the HAProxy edge's stats line, and the load tools' figures.
export {
  descendantsOf,
  isRunning,
  PeakRssSampler,
  readCpuSeconds,
  readMachineBusySeconds,
  readParentPid,
  readProcessTable,
  readProcessTreeCpuSeconds,
  readRssBytes,
  type ProcessStat,
} from './process-stats.js';
export {
  BALANCER_KINDS,
  BALANCER_VARIABLE,
  chooseBalancer,
  startBalancer,
  type Balancer,
  type BalancerKind,
} from './balancer.js';
export { findHaproxy } from './haproxy-process.js';
export { logFilePath } from './log-files.js';
