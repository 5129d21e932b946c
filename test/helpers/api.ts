/**
 * A small HTTP client for the contract suite, plus the checks every test shares.
 * Every response is recorded so that a file can finally assert the rules that hold for all of
 * them (no 500, no HTML outside the web UI, an `x-request-id` on each, JSON errors).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Test } from 'tap';

/**
 * A todo as the contract puts it on the wire. Written out here rather than imported from
 * @taskoverflow/domain on purpose: the contract suite checks the implementation (and runs
 * against a deployed target), so it does not take its expectations from the code under test.
 */
export interface WireTodo {
  id: number;
  title: string;
  description: string | null;
  completed: boolean;
  deadline_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface ApiResponse {
  method: string;
  url: string;
  status: number;
  headers: Headers;
  contentType: string;
  text: string;
  /** The parsed body, or undefined when it is not JSON; narrowed with field, at, listOf, isTodo, todoOf. */
  json: unknown;
}

/** A request body sent exactly as given, with the given Content-Type (none when null). */
export class RawBody {
  constructor(
    readonly body: string | Uint8Array,
    readonly contentType: string | null = 'application/json',
  ) {}
}

export const raw = (body: string | Uint8Array, contentType: string | null = 'application/json'): RawBody =>
  new RawBody(body, contentType);

export type Api = (
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<ApiResponse>;

export interface Connection {
  /**
   * One request on this connection, with a deadline. A transport failure or timeout comes back
   * as status 0 with the error in `text`, and is not recorded.
   */
  request(
    method: string,
    path: string,
    body?: RawBody,
    headers?: Record<string, string>,
    timeoutMs?: number,
  ): Promise<ApiResponse>;
  /** Drops the connection; the next request opens a new one. */
  reset(): void;
  close(): void;
}

export interface Client {
  api: Api;
  /**
   * A single keep-alive connection (node:http, one socket), for checks that depend on what
   * happens to a connection, e.g. oversized bodies. Close it when done.
   */
  connection: () => Connection;
  /** Every response this client received, in order. */
  responses: ApiResponse[];
}

/** A client for one base URL. `recorded` is shared when several clients feed one final check. */
export function client(baseUrl: string, recorded: ApiResponse[] = []): Client {
  const api: Api = async (method, path, body, headers = {}) => {
    const init: RequestInit & { headers: Record<string, string> } = { method, headers: { ...headers } };
    if (body instanceof RawBody) {
      init.body = body.body;
      if (body.contentType !== null) init.headers['content-type'] = body.contentType;
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers['content-type'] = 'application/json';
    }
    const url = baseUrl + path;
    const res = await fetch(url, init);
    const text = await res.text();
    const json = parseJson(text);
    const response: ApiResponse = {
      method,
      url,
      status: res.status,
      headers: res.headers,
      contentType: res.headers.get('content-type') ?? '',
      text,
      json,
    };
    recorded.push(response);
    return response;
  };

  const connection = (): Connection => {
    const https = new URL(baseUrl).protocol === 'https:';
    const newAgent = (): HttpAgent =>
      https ? new HttpsAgent({ keepAlive: true, maxSockets: 1 }) : new HttpAgent({ keepAlive: true, maxSockets: 1 });
    let agent = newAgent();
    const request: Connection['request'] = (method, path, body, extraHeaders = {}, timeoutMs = 10_000) =>
      new Promise((resolve) => {
        const url = new URL(baseUrl + path);
        const payload = body === undefined ? undefined : Buffer.from(body.body);
        const headers: Record<string, string> = { ...extraHeaders };
        if (payload) headers['content-length'] = String(payload.length);
        if (body?.contentType) headers['content-type'] = body.contentType;
        let settled = false;
        const finish = (response: ApiResponse): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(response);
        };
        const failed = (message: string): ApiResponse => ({
          method,
          url: url.href,
          status: 0,
          headers: new Headers(),
          contentType: '',
          text: message,
          json: undefined,
        });
        const req = (https ? httpsRequest : httpRequest)(url, { method, headers, agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (error) => finish(failed(`response failed: ${error.message}`)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const json = parseJson(text);
            const response: ApiResponse = {
              method,
              url: url.href,
              status: res.statusCode ?? 0,
              headers: toHeaders(res.headers),
              contentType: res.headers['content-type'] ?? '',
              text,
              json,
            };
            recorded.push(response);
            finish(response);
          });
        });
        // The server may answer and close before the whole body is written: give its answer a moment.
        req.on('error', (error) => setTimeout(() => finish(failed(`request failed: ${error.message}`)), 200));
        const timer = setTimeout(() => {
          finish(failed(`no response within ${timeoutMs} ms`));
          req.destroy();
        }, timeoutMs);
        req.end(payload);
      });
    return {
      request,
      reset: () => {
        agent.destroy();
        agent = newAgent();
      },
      close: () => agent.destroy(),
    };
  };

  return { api, connection, responses: recorded };
}

/** The body as JSON, or undefined when it is empty or not JSON. */
function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

function toHeaders(incoming: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}

// ---------------------------------------------------------------------------------------------
// Wire formats

/** created_at / updated_at: UTC, no offset, microseconds (6 digits) when there is a fraction. */
export const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$/;
export const TODO_KEYS = ['completed', 'created_at', 'deadline_at', 'description', 'id', 'title', 'updated_at'];

/** Microseconds since the epoch of a wire date-time (always UTC, never an offset). */
export function micros(wire: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?$/.exec(wire);
  if (!m) return Number.NaN;
  return Date.parse(`${m[1]!}Z`) * 1000 + Number((m[2] ?? '').padEnd(6, '0'));
}

/** A JS Date as a naive UTC wire date-time without fraction, e.g. `2025-09-05T15:00:00`. */
export function naiveUtc(date: Date): string {
  return date.toISOString().slice(0, 19);
}

export const DAY_MS = 24 * 60 * 60 * 1000;
export const HOUR_MS = 60 * 60 * 1000;

/** Unique text for this run, so tests find their own todos on a shared target. */
export function unique(label: string): string {
  return `${label} ${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Reading bodies: `unknown` until a check narrows it

/** `value[key]` when value is a JSON object (or array), else undefined: a field of a body not yet checked. */
export function field(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
}

/** Follows `path` through nested objects: at(doc, 'paths', '/api/v1/todos', 'get'). */
export function at(value: unknown, ...path: string[]): unknown {
  return path.reduce(field, value);
}

/** The elements of a JSON array; [] for anything else (the caller asserts that it is an array). */
export function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

/** True when `value` has exactly the contract's todo keys, with their types and wire formats. */
export function isTodo(value: unknown): value is WireTodo {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const todo = value as Record<string, unknown>;
  return (
    Object.keys(todo).sort().join() === TODO_KEYS.join() &&
    Number.isInteger(todo.id) &&
    (todo.id as number) > 0 &&
    typeof todo.title === 'string' &&
    (todo.description === null || typeof todo.description === 'string') &&
    typeof todo.completed === 'boolean' &&
    (todo.deadline_at === null || (typeof todo.deadline_at === 'string' && TIMESTAMP.test(todo.deadline_at))) &&
    typeof todo.created_at === 'string' &&
    TIMESTAMP.test(todo.created_at) &&
    typeof todo.updated_at === 'string' &&
    TIMESTAMP.test(todo.updated_at)
  );
}

/** The body as a todo; throws, naming the request and showing the body, when it is not one. */
export function todoOf(res: ApiResponse): WireTodo {
  if (!isTodo(res.json))
    throw new Error(`${res.method} ${res.url} → ${res.status}: not a todo: ${res.text.slice(0, 200)}`);
  return res.json;
}

/** The body as a list of todos; throws, naming the request, when it is not an array of todos. */
export function todosOf(res: ApiResponse): WireTodo[] {
  const list = res.json;
  if (!Array.isArray(list) || !list.every(isTodo))
    throw new Error(`${res.method} ${res.url} → ${res.status}: not a list of todos: ${res.text.slice(0, 200)}`);
  return list;
}

// ---------------------------------------------------------------------------------------------
// Assertions

/** The exact todo shape of the contract: keys, types and wire formats (isTodo). */
export function assertTodoShape(t: Test, value: unknown, label = 'todo'): void {
  t.ok(
    isTodo(value),
    `${label}: exactly the contract's keys, with their types and wire formats: ${JSON.stringify(value)}`,
  );
}

/** A JSON 4xx error: the status, a JSON content type, an `error` string, and the exact body when given. */
export function assertError(t: Test, res: ApiResponse, status: number, error?: string, label?: string): void {
  const what = label ?? `${res.method} ${new URL(res.url).pathname}${new URL(res.url).search}`;
  t.equal(res.status, status, `${what}: status ${status}`);
  t.match(res.contentType, /^application\/json\b/, `${what}: JSON content type (${res.contentType})`);
  if (error === undefined) {
    t.type(field(res.json, 'error'), 'string', `${what}: body has an error string (${res.text.slice(0, 200)})`);
  } else {
    t.strictSame(res.json, { error }, `${what}: body is {"error":${JSON.stringify(error)}}`);
  }
}

/**
 * Rules for every response a file received: never a 5xx, every one carries `x-request-id`,
 * nothing is HTML except `GET /`, and every 4xx is JSON with an `error` string.
 */
export function assertEveryResponse(t: Test, responses: ApiResponse[]): void {
  const show = (r: ApiResponse): string => `${r.method} ${new URL(r.url).pathname} → ${r.status}`;
  t.ok(responses.length > 0, `checked ${responses.length} responses`);
  t.strictSame(responses.filter((r) => r.status >= 500).map(show), [], 'no response is a 5xx');
  t.strictSame(
    responses.filter((r) => !r.headers.get('x-request-id')).map(show),
    [],
    'every response carries x-request-id',
  );
  t.strictSame(
    responses
      .filter((r) => /html/i.test(r.contentType) && !(r.method === 'GET' && new URL(r.url).pathname === '/'))
      .map(show),
    [],
    'no response other than GET / is HTML',
  );
  t.strictSame(
    responses
      .filter((r) => r.status >= 400 && r.status < 500)
      .filter((r) => !/^application\/json\b/.test(r.contentType) || typeof field(r.json, 'error') !== 'string')
      .map((r) => `${show(r)} ${r.contentType} ${r.text.slice(0, 100)}`),
    [],
    'every 4xx is JSON with an error string',
  );
}

/** POSTs a todo that must be created: asserts 201 and the todo shape, returns the todo. */
export async function createTodo(t: Test, api: Api, body: Record<string, unknown>): Promise<WireTodo> {
  const res = await api('POST', '/api/v1/todos', body);
  t.equal(res.status, 201, `POST ${JSON.stringify(body).slice(0, 80)}: 201 (${res.text.slice(0, 200)})`);
  assertTodoShape(t, res.json, 'created todo');
  return todoOf(res);
}

/** The request failed with a reset while its body was still being sent: the server's answer, if any, was lost. */
export function resetWhileUploading(res: ApiResponse): boolean {
  return res.status === 0 && /EPIPE|ECONNRESET|socket hang up/.test(res.text);
}

/**
 * A body over the limit → 413, every time: repeated, because an answer that depends on timing
 * must not pass by luck. Sent on one keep-alive connection, as an
 * ordinary client does; after each 413 that connection must still answer the next request.
 * `resetMayLoseAnswer` (HAProxy 2.6 as the edge): it answers 413 and closes without draining
 * the upload (haproxy/haproxy#2404, fixed in 3.0), so a reset may reach the client before it
 * reads the 413; a reset is then the other outcome allowed, never a success or another error.
 */
export async function assertOversizedRejected(
  t: Test,
  conn: Connection,
  method: string,
  path: string,
  makeBody: (bytes: number) => RawBody,
  // 1 MiB still fits the socket buffers, so a server that answers 413 and closes without
  // reading the rest cannot lose its answer to a TCP reset; bigger bodies test the transport.
  plan: Array<[bytes: number, attempts: number]> = [[1024 * 1024, 8]],
  resetMayLoseAnswer = false,
): Promise<void> {
  let connectionBroken = false;
  for (const [bytes, attempts] of plan) {
    const body = makeBody(bytes);
    const size = `${bytes / (1024 * 1024)} MiB`;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const res = await conn.request(method, path, body);
      if (resetMayLoseAnswer && resetWhileUploading(res)) {
        t.pass(`${method} ${path} ${size} #${attempt}: reset while uploading, its 413 lost (${res.text})`);
        conn.reset();
        continue;
      }
      assertError(
        t,
        res,
        413,
        undefined,
        `${method} ${path} ${size} #${attempt} (${res.status}: ${res.text.slice(0, 120)})`,
      );
      if (connectionBroken) {
        // Already reported once: start afresh rather than wait on a connection that hangs.
        if (res.status !== 413) conn.reset();
        continue;
      }
      const next = await conn.request('GET', '/api/v1/health', undefined, {}, 1500);
      t.equal(
        next.status,
        200,
        `after ${method} ${size} #${attempt} (${res.status}), the same connection answers GET /api/v1/health (${next.status}: ${next.text.slice(0, 80)})`,
      );
      if (next.status !== 200) {
        connectionBroken = true;
        conn.reset();
      }
    }
  }
}
