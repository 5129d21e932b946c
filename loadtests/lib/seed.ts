/** Seeding through the API, and the list read back: the data the tools measure. */
import { fetchPastLoadShedding } from './shed-retry.js';

const TODOS_PATH = '/api/v1/todos';
/** Creates in flight at once while seeding: quick, without queueing on the pool of 10. */
const SEED_CONCURRENCY = 8;
/**
 * Headers Node's http server sets itself per response or connection: the ceiling server must
 * not be handed copies of them.
 */
const PER_CONNECTION_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

/**
 * A todo of the size the figures were taken with (100 todos ≈ 19 KB as JSON): a
 * sentence of a title, a short description, a deadline on half of them, a third completed.
 */
function seedTodo(index: number): Record<string, unknown> {
  return {
    title: `Benchmark todo ${index}: write the weekly report`,
    description: index % 2 === 0 ? `Seeded by pnpm bench (${index})` : null,
    completed: index % 3 === 0,
    deadline_at: index % 2 === 0 ? new Date(Date.UTC(2026, 11, 1 + (index % 28), 15)).toISOString() : null,
  };
}

export interface SeedOptions {
  /** The body of todo number `n` (from 1). Default: the bench's, of the size. */
  todo?: (n: number) => Record<string, unknown>;
  /** Headers of the request creating todo number `n`, e.g. a request id the report knows to leave out. */
  headers?: (n: number) => Record<string, string>;
  /** Aborting stops the seeding after the requests in progress, rejecting with the signal's reason. */
  signal?: AbortSignal;
}

/** Creates `count` todos through todo-write; resolves with their ids, in creation order. */
export async function seedTodos(
  writeUrl: string,
  count: number,
  { todo = seedTodo, headers, signal }: SeedOptions = {},
): Promise<number[]> {
  const ids = new Array<number>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < count; index = next++) {
      signal?.throwIfAborted();
      ids[index] = await createTodo(writeUrl, todo(index + 1), headers?.(index + 1));
    }
  };
  await Promise.all(Array.from({ length: Math.min(SEED_CONCURRENCY, count) }, worker));
  return ids;
}

async function createTodo(
  writeUrl: string,
  todo: Record<string, unknown>,
  headers?: Record<string, string>,
): Promise<number> {
  const response = await fetchPastLoadShedding(`${writeUrl}${TODOS_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(todo),
  });
  const text = await response.text();
  if (response.status !== 201)
    throw new Error(`seeding: POST ${TODOS_PATH} answered ${response.status} instead of 201: ${text.slice(0, 300)}`);
  return (JSON.parse(text) as { id: number }).id;
}

/** A response as todo-read sent it: its exact bytes and the headers to send them with again. */
export interface CapturedResponse {
  body: Buffer;
  headers: Record<string, string>;
  etag: string;
}

/**
 * The full list from todo-read (or the load balancer in front of it). Checks that it holds
 * every seeded todo when told how many (the cache must serve the state the seeding left) and
 * that it was not compressed (the ceiling must send the same bytes).
 */
export async function captureList(readUrl: string, expectedCount?: number): Promise<CapturedResponse> {
  const response = await fetchPastLoadShedding(`${readUrl}${TODOS_PATH}`);
  const body = Buffer.from(await response.arrayBuffer());
  if (response.status !== 200) {
    throw new Error(`GET ${TODOS_PATH} on todo-read answered ${response.status}: ${body.toString().slice(0, 300)}`);
  }
  const etag = response.headers.get('etag');
  if (!etag) throw new Error(`GET ${TODOS_PATH} on todo-read has no ETag: the 304 scenario needs one`);
  if (response.headers.has('content-encoding')) {
    throw new Error(
      `GET ${TODOS_PATH} on todo-read came ${response.headers.get('content-encoding')}-encoded; the bench compares uncompressed bytes`,
    );
  }
  const listed = (JSON.parse(body.toString()) as unknown[]).length;
  if (expectedCount !== undefined && listed !== expectedCount) {
    throw new Error(
      `todo-read lists ${listed} todos right after ${expectedCount} were seeded: it is not serving what was written`,
    );
  }
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (!PER_CONNECTION_HEADERS.has(name)) headers[name] = value;
  });
  return { body, headers, etag };
}
