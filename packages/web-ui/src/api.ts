/** The v1 API, called through the page's own origin (the load balancer routes it). */
import type { CreateTodoBody, Todo, UpdateTodoBody } from '@taskoverflow/domain';

export type { Todo };

const TODOS_URL = '/api/v1/todos';

/** A failed call; the message is the API's own `error` text when it sent one. */
export class ApiError extends Error {
  constructor(
    message: string,
    /** 0 when no answer came at all. */
    readonly status: number,
  ) {
    super(message);
  }
}

const UNREACHABLE = 'TaskOverflow could not be reached; check the connection and try again';

async function errorOf(response: Response): Promise<ApiError> {
  const body: unknown = await response.json().catch(() => undefined);
  const message =
    body && typeof body === 'object' && 'error' in body && typeof body.error === 'string'
      ? body.error
      : `the server answered ${response.status} ${response.statusText}`.trimEnd();
  return new ApiError(message, response.status);
}

async function call(url: string, init: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (init.signal?.aborted) throw error;
    throw new ApiError(UNREACHABLE, 0);
  }
  if (!response.ok && response.status !== 304) throw await errorOf(response);
  return response;
}

async function write(
  method: 'POST' | 'PUT' | 'DELETE',
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Todo> {
  const response = await call(url, {
    method,
    ...(body !== undefined && {
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  });
  return (await response.json()) as Todo;
}

export type ListResult = { changed: false } | { changed: true; todos: Todo[]; etag: string | undefined };

/**
 * The list for `query`; `{ changed: false }` when it still has the ETag `etag` (a 304: no body
 * to download, parse or render). `cache: 'no-store'` keeps the browser's HTTP cache out of it:
 * otherwise the browser would revalidate with its own copy and turn every 304 into a 200.
 */
export async function fetchTodoList(
  query: URLSearchParams,
  etag: string | undefined,
  signal: AbortSignal,
): Promise<ListResult> {
  const search = query.toString();
  const response = await call(search ? `${TODOS_URL}?${search}` : TODOS_URL, {
    cache: 'no-store',
    headers: etag ? { 'if-none-match': etag } : {},
    signal,
  });
  if (response.status === 304) return { changed: false };
  return { changed: true, todos: (await response.json()) as Todo[], etag: response.headers.get('etag') ?? undefined };
}

/**
 * Creates a todo. `idempotencyKey` names the intent: a retry with the same key (after a 503
 * or a lost answer, when the first attempt may have been applied) creates nothing more and
 * gets the first answer back.
 */
export function createTodo(body: CreateTodoBody, idempotencyKey: string): Promise<Todo> {
  return write('POST', TODOS_URL, body, { 'idempotency-key': idempotencyKey });
}

/**
 * A fresh Idempotency-Key: 128 random bits in hex. Not crypto.randomUUID(), which browsers
 * offer only to secure contexts, and the page may be served over plain HTTP (the ALB's URL).
 */
export function newIdempotencyKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export function updateTodo(id: number, body: UpdateTodoBody): Promise<Todo> {
  return write('PUT', `${TODOS_URL}/${id}`, body);
}

export function deleteTodo(id: number): Promise<Todo> {
  return write('DELETE', `${TODOS_URL}/${id}`);
}
