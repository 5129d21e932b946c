import { formatWireTimestamp, type Todo } from '@taskoverflow/domain';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, NewTodoRow, TodoRow, TodoRowUpdate } from './schema.js';

/** Repository functions take a Kysely instance or a transaction. */
type Executor = Kysely<Database> | Transaction<Database>;

export interface TodoFilter {
  completed?: boolean;
  /** Keep todos whose deadline is at or before now + this many days (overdue included). */
  windowDays?: number;
}

/** Maps a row to the wire representation of the v1 API. */
export function toTodo(row: TodoRow): Todo {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    completed: row.completed,
    deadline_at: row.deadline_at === null ? null : formatWireTimestamp(row.deadline_at),
    created_at: formatWireTimestamp(row.created_at),
    updated_at: formatWireTimestamp(row.updated_at),
  };
}

const utcNow = sql<string>`(statement_timestamp() at time zone 'utc')`;

export async function listTodos(db: Executor, filter: TodoFilter = {}): Promise<Todo[]> {
  let query = db.selectFrom('todos').selectAll();
  if (filter.completed !== undefined) query = query.where('completed', '=', filter.completed);
  if (filter.windowDays !== undefined) {
    query = query.where(
      'deadline_at',
      '<=',
      sql<string>`(now() at time zone 'utc') + make_interval(days => ${filter.windowDays})`,
    );
  }
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
  return rows.map(toTodo);
}

export async function findTodo(db: Executor, id: number): Promise<Todo | undefined> {
  const row = await db.selectFrom('todos').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toTodo(row);
}

export async function insertTodo(db: Executor, values: NewTodoRow): Promise<Todo> {
  const row = await db.insertInto('todos').values(values).returningAll().executeTakeFirstOrThrow();
  return toTodo(row);
}

/** Applies a partial update and bumps updated_at; undefined when no such todo exists. */
export async function updateTodo(
  db: Executor,
  id: number,
  changes: Omit<TodoRowUpdate, 'id' | 'updated_at'>,
): Promise<Todo | undefined> {
  const row = await db
    .updateTable('todos')
    .set({ ...changes, updated_at: utcNow })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  return row && toTodo(row);
}

export async function deleteTodo(db: Executor, id: number): Promise<Todo | undefined> {
  const row = await db.deleteFrom('todos').where('id', '=', id).returningAll().executeTakeFirst();
  return row && toTodo(row);
}
