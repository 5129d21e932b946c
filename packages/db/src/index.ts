export type { Database, NewTodoRow, TodoRow, TodoRowUpdate, TodosTable } from './schema.js';
export {
  createDb,
  describeDatabaseUrlProblem,
  poolConfig,
  QUERY_DEADLINE_MARGIN_MS,
  type Db,
  type PoolSettings,
} from './connection.js';
export { migrateDatabaseAt, migrateToLatest } from './migrate.js';
export { DatabaseUnavailableError, DatabaseUnreachableError, MigrationError } from './errors.js';
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
export { ensureServiceRoles, ROLE_PASSWORD_VARIABLES, SERVICE_ROLES, type ServiceWithRole } from './roles.js';
export { checkDatabaseConnection } from './startup-check.js';
export { readPoolSettings } from './settings.js';
export { insertTodoOnce, type IdempotencyKey, type IdempotentCreate } from './idempotency-repository.js';
