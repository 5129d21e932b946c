export type { Database, NewTodoRow, TodoRow, TodoRowUpdate, TodosTable } from './schema.js';
export {
  createDb,
  describeDatabaseUrlProblem,
  poolConfig,
  QUERY_DEADLINE_MARGIN_MS,
  type Db,
  type PoolSettings,
} from './connection.js';
export { bootstrapMigrationRole } from './bootstrap.js';
export { describeSchemaAhead, migrateDatabaseAt, migrateToLatest, MIGRATIONS, type MigrationRun } from './migrate.js';
export {
  DatabaseUnavailableError,
  DatabaseUnreachableError,
  MigrationError,
  MigrationsDivergedError,
} from './errors.js';
export { databasePlugin, type DatabasePluginOptions } from './plugin.js';
export {
  deleteTodo,
  findTodo,
  insertTodo,
  listTodos,
  toTodo,
  updateTodo,
  type TodoFilter,
} from './todos-repository.js';
export {
  ensureMigrationRole,
  ensureServiceRoles,
  handOverSchema,
  MIGRATION_PASSWORD_VARIABLE,
  MIGRATION_ROLE,
  ROLE_PASSWORD_VARIABLES,
  SERVICE_ROLES,
  type ServiceWithRole,
} from './roles.js';
export { checkDatabaseConnection, isPassingConnectFailure, waitForDatabase } from './startup-check.js';
export { readPoolSettings } from './settings.js';
export { insertTodoOnce, type IdempotencyKey, type IdempotentCreate } from './idempotency-repository.js';
