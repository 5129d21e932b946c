import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * Timestamps travel as PostgreSQL's text form (`2026-04-18 05:46:10.381173`): a JS Date would
 * drop the microseconds the wire format keeps. See `poolConfig` for the type parser.
 */
type Timestamp = string;

export interface TodosTable {
  id: Generated<number>;
  title: string;
  description: string | null;
  completed: Generated<boolean>;
  deadline_at: Timestamp | null;
  created_at: ColumnType<Timestamp, never, never>;
  updated_at: ColumnType<Timestamp, never, Timestamp>;
}

export interface IdempotencyKeysTable {
  key: string;
  /** SHA-256 (hex) of the request it was first used with. */
  request_hash: string;
  response_status: number | null;
  response_body: string | null;
  /** Set on insert by default; reset when an expired key is taken over. */
  created_at: ColumnType<Timestamp, never, Timestamp>;
}

export interface Database {
  todos: TodosTable;
  idempotency_keys: IdempotencyKeysTable;
}

export type TodoRow = Selectable<TodosTable>;
export type NewTodoRow = Insertable<TodosTable>;
export type TodoRowUpdate = Updateable<TodosTable>;
