/**
 * End to end through the load balancer (locally its stand-in): writes go to todo-write, reads
 * to the todo-read replicas, and once a write has answered every read sees it. Repeated so
 * that every replica serves; against the local stack each replica is also asked directly.
 */
import t, { type Test } from 'tap';
import { assertError, assertEveryResponse, client, createTodo, unique, type ApiResponse, type Json } from '../helpers/api.js';
import { getTarget } from '../helpers/target.js';

const target = await getTarget(t);
const recorded: ApiResponse[] = [];
const { api } = client(target.url, recorded);
const replicas = target.readUrls.map((url) => ({ url, api: client(url, recorded).api }));
const ROUNDS = 6;

/** Reads the todo and the list through the stand-in ROUNDS times and from each replica. */
async function seenEverywhere(t: Test, id: number, expected: Json | null, label: string): Promise<void> {
  const readers = [
    ...Array.from({ length: ROUNDS }, (_, i) => ({ name: `stand-in #${i + 1}`, api })),
    ...replicas.map((replica, i) => ({ name: `todo-read replica ${i + 1} (${replica.url})`, api: replica.api })),
  ];
  for (const reader of readers) {
    const one = await reader.api('GET', `/api/v1/todos/${id}`);
    const list = await reader.api('GET', '/api/v1/todos');
    const listed = (Array.isArray(list.json) ? list.json : []).find((x: Json) => x.id === id);
    if (expected === null) {
      assertError(t, one, 404, 'Todo not found', `${label}: GET by id via ${reader.name}`);
      t.equal(listed, undefined, `${label}: not listed via ${reader.name}`);
    } else {
      t.equal(one.status, 200, `${label}: GET by id via ${reader.name} → 200`);
      t.strictSame(one.json, expected, `${label}: GET by id via ${reader.name} sees the write`);
      t.strictSame(listed, expected, `${label}: the list via ${reader.name} sees the write`);
    }
  }
}


t.test('create, read, update, read, delete, read: every read sees the last write', async (t) => {
  if (target.readUrls.length > 0) t.equal(target.readUrls.length, 2, 'the local stack runs two read replicas');
  for (let round = 1; round <= 3; round++) {
    const created = await createTodo(t, api, { title: unique(`e2e ${round}`), deadline_at: '2030-01-01T00:00:00' });
    await seenEverywhere(t, created.id, created, `round ${round} after POST`);

    const put = await api('PUT', `/api/v1/todos/${created.id}`, { completed: true, description: `round ${round}` });
    t.equal(put.status, 200, `round ${round}: PUT 200`);
    await seenEverywhere(t, created.id, put.json, `round ${round} after PUT`);

    const del = await api('DELETE', `/api/v1/todos/${created.id}`);
    t.equal(del.status, 200, `round ${round}: DELETE 200`);
    await seenEverywhere(t, created.id, null, `round ${round} after DELETE`);
  }
});

t.test('every response in this file: no 5xx, x-request-id, no stray HTML, JSON errors', async (t) => {
  assertEveryResponse(t, recorded);
});
