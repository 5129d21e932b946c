import type { Todo } from '@taskoverflow/domain';
import { sql, type Kysely } from 'kysely';
import type { Database, NewTodoRow } from './schema.js';
import { insertTodo } from './todos-repository.js';

export interface IdempotencyKey {
  key: string;
  /** SHA-256 (hex) of the request, so a key reused for a different request is caught. */
  requestHash: string;
  /** How long a key holds its first outcome. */
  windowSeconds: number;
}

export type IdempotentCreate =
  | { outcome: 'created'; todo: Todo }
  | { outcome: 'replayed'; status: number; body: string }
  | { outcome: 'key-reused' };

/**
 * Creates a todo at most once per idempotency key. The key is claimed and the todo inserted
 * in one transaction: either both happen or neither, so a failed attempt leaves the key free
 * for the retry. A concurrent request with the same key waits on the key's unique index until
 * the first commits, then replays its outcome. Keys older than the window are taken over.
 */
export async function insertTodoOnce(
  db: Kysely<Database>,
  idempotency: IdempotencyKey,
  values: NewTodoRow,
): Promise<IdempotentCreate> {
  return db.transaction().execute(async (trx) => {
    const expiredBefore = sql<string>`(statement_timestamp() at time zone 'utc') - make_interval(secs => ${idempotency.windowSeconds})`;
    const claimed = await trx
      .insertInto('idempotency_keys')
      .values({ key: idempotency.key, request_hash: idempotency.requestHash })
      .onConflict((conflict) =>
        conflict
          .column('key')
          .doUpdateSet({
            request_hash: idempotency.requestHash,
            response_status: null,
            response_body: null,
            created_at: sql<string>`(statement_timestamp() at time zone 'utc')`,
          })
          .where('idempotency_keys.created_at', '<', expiredBefore),
      )
      .returning('key')
      .executeTakeFirst();

    if (claimed) {
      const todo = await insertTodo(trx, values);
      await trx
        .updateTable('idempotency_keys')
        .set({ response_status: 201, response_body: JSON.stringify(todo) })
        .where('key', '=', idempotency.key)
        .execute();
      return { outcome: 'created', todo };
    }
    const first = await trx
      .selectFrom('idempotency_keys')
      .select(['request_hash', 'response_status', 'response_body'])
      .where('key', '=', idempotency.key)
      .executeTakeFirstOrThrow();
    if (first.request_hash !== idempotency.requestHash) return { outcome: 'key-reused' };
    return { outcome: 'replayed', status: first.response_status ?? 201, body: first.response_body ?? '' };
  });
}
