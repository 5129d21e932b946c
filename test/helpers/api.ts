/**
 * A small HTTP client for the contract suite, plus the checks every test shares.
 * Every response is recorded so that a file can finally assert the rules that hold for all of
 * them (no 500, no HTML outside the web UI, an `x-request-id` on each, JSON errors).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Test } from 'tap';

/** Response bodies are arbitrary JSON, asserted on with tap's matchers (eslint.config.js allows `any` in tests). */
export type Json = any;

export interface ApiResponse {
  method: string;
  url: string;
  status: number;
  headers: Headers;
  contentType: string;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: Json;
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

export type Api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<ApiResponse>;

export interface Connection {
  /**
   * One request on this connection, with a deadline. A transport failure or timeout comes back
   * as status 0 with the error in `text`, and is not recorded.
   */
  request(method: string, path: string, body?: RawBody, headers?: Record<string, string>, timeoutMs?: number): Promise<ApiResponse>;
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
    let json: Json;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
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
            let json: Json;
            try {
              json = text === '' ? undefined : JSON.parse(text);
            } catch {
              json = undefined;
            }
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
// Assertions

/** The exact todo shape of the contract: keys, types and wire formats. */
export function assertTodoShape(t: Test, todo: Json, label = 'todo'): void {
  t.type(todo, 'object', `${label}: is an object`);
  if (todo === null || typeof todo !== 'object' || Array.isArray(todo)) {
    t.fail(`${label}: not a JSON object: ${JSON.stringify(todo)}`);
    return;
  }
  t.strictSame(Object.keys(todo).sort(), TODO_KEYS, `${label}: has exactly the contract's keys`);
  t.ok(Number.isInteger(todo.id) && todo.id > 0, `${label}: id is a positive integer (${JSON.stringify(todo.id)})`);
  t.type(todo.title, 'string', `${label}: title is a string`);
  t.ok(todo.description === null || typeof todo.description === 'string', `${label}: description is string|null`);
  t.type(todo.completed, 'boolean', `${label}: completed is a boolean`);
  t.ok(
    todo.deadline_at === null || (typeof todo.deadline_at === 'string' && TIMESTAMP.test(todo.deadline_at)),
    `${label}: deadline_at is null or a naive UTC date-time (${JSON.stringify(todo.deadline_at)})`,
  );
  t.match(todo.created_at, TIMESTAMP, `${label}: created_at is a naive UTC date-time with microseconds`);
  t.match(todo.updated_at, TIMESTAMP, `${label}: updated_at is a naive UTC date-time with microseconds`);
}

/** A JSON 4xx error: the status, a JSON content type, an `error` string, and the exact body when given. */
export function assertError(t: Test, res: ApiResponse, status: number, error?: string, label?: string): void {
  const what = label ?? `${res.method} ${new URL(res.url).pathname}${new URL(res.url).search}`;
  t.equal(res.status, status, `${what}: status ${status}`);
  t.match(res.contentType, /^application\/json\b/, `${what}: JSON content type (${res.contentType})`);
  if (error === undefined) {
    t.type(res.json?.error, 'string', `${what}: body has an error string (${res.text.slice(0, 200)})`);
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
  t.strictSame(
    responses.filter((r) => r.status >= 500).map(show),
    [],
    'no response is a 5xx',
  );
  t.strictSame(
    responses.filter((r) => !r.headers.get('x-request-id')).map(show),
    [],
    'every response carries x-request-id',
  );
  t.strictSame(
    responses.filter((r) => /html/i.test(r.contentType) && !(r.method === 'GET' && new URL(r.url).pathname === '/')).map(show),
    [],
    'no response other than GET / is HTML',
  );
  t.strictSame(
    responses
      .filter((r) => r.status >= 400 && r.status < 500)
      .filter((r) => !/^application\/json\b/.test(r.contentType) || typeof r.json?.error !== 'string')
      .map((r) => `${show(r)} ${r.contentType} ${r.text.slice(0, 100)}`),
    [],
    'every 4xx is JSON with an error string',
  );
}

/** POSTs a todo that must be created: asserts 201 and the todo shape, returns the todo. */
export async function createTodo(t: Test, api: Api, body: Record<string, unknown>): Promise<Json> {
  const res = await api('POST', '/api/v1/todos', body);
  t.equal(res.status, 201, `POST ${JSON.stringify(body).slice(0, 80)}: 201 (${res.text.slice(0, 200)})`);
  assertTodoShape(t, res.json, 'created todo');
  return res.json;
}

/**
 * A body over the limit → 413, every time: repeated, because an answer that depends on timing
 * must not pass by luck. Sent on one keep-alive connection, as an
 * ordinary client does; after each 413 that connection must still answer the next request.
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
): Promise<void> {
  let connectionBroken = false;
  for (const [bytes, attempts] of plan) {
    const body = makeBody(bytes);
    const size = `${bytes / (1024 * 1024)} MiB`;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const res = await conn.request(method, path, body);
      assertError(t, res, 413, undefined, `${method} ${path} ${size} #${attempt} (${res.status}: ${res.text.slice(0, 120)})`);
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
