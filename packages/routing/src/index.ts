/**
 * The routing table: which service answers which method and path. It is the single source of
 * truth for the AWS ALB listener rules (infra/), the local load-balancer stand-in
 * (@taskoverflow/edge) and docker-compose, and each service's 404/405 answers.
 */

/** Answers 200 without touching the database: "this task is up". The ALB, the edge and the containers' HEALTHCHECK probe it. */
export const HEALTH_PATH = '/api/v1/health';

/**
 * Idle keep-alive of every HTTP server behind or in front of the load balancer (the services,
 * the edge). It must outlast the ALB's 60 s idle timeout (infra/src/load-balancer.ts), or the
 * ALB may reuse a connection the service has just closed and answer 502.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * Connections the kernel completes and queues for a server to accept (capped by
 * net.core.somaxconn, 4096 here). Node's default, 511, drops the SYNs of a burst beyond it,
 * and a client retries a dropped SYN only after 1 s, then 3 s: 3,000 connections arriving at
 * once saw their 503s after 1-3 s though the edge answered each in under a millisecond. The edge
 * and the bare servers the load tools measure against listen with it.
 */
export const LISTEN_BACKLOG = 4_096;

export type ServiceName = 'todo-read' | 'todo-write';
export const SERVICES: readonly ServiceName[] = ['todo-read', 'todo-write'];

/**
 * The NODE_OPTIONS every service process runs with: locally (@taskoverflow/stack), in the
 * image (the Dockerfile's ENV, checked against this) and on AWS (the task definition). V8 sizes
 * its heap by the machine's RAM: on a large machine two 64 MB semi-spaces, and old space left to
 * fill with promoted garbage to several times what is live before a full collection, which made
 * a replica under load 230–300 MB. 16 MB semi-spaces and a 512 MB old space (V8 then collects it
 * sooner) keep todo-read under 150 MB; the price is more scavenges and mark-compacts, 2–3 % of
 * a cached read's CPU (docs/results/2026-12-06-memory.md). 512 MB also caps the heap: ample for a list of
 * 300,000 todos (69 MB of JSON, built in the heap, then kept as a Buffer outside it).
 */
export const SERVICE_NODE_OPTIONS = '--max-semi-space-size=16 --max-old-space-size=512';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
const METHOD_ORDER: readonly HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'];

/**
 * One load-balancer rule, in the ALB's own terms: one method condition and one path-pattern
 * condition; `*` matches any run of characters (slashes included), `?` exactly one. Rules are
 * evaluated in `priority` order (lowest first). A rule with more values than one ALB listener
 * rule may hold is split into several by infra/ (albListenerRules), matching the same requests.
 */
export interface RoutingRule {
  readonly name: string;
  readonly priority: number;
  readonly service: ServiceName;
  readonly methods: readonly HttpMethod[];
  readonly pathPatterns: readonly string[];
}

export const routingRules: readonly RoutingRule[] = [
  {
    name: 'writes',
    priority: 10,
    service: 'todo-write',
    methods: ['POST', 'PUT', 'DELETE'],
    pathPatterns: ['/api/v1/*'],
  },
  {
    name: 'reads',
    priority: 20,
    service: 'todo-read',
    methods: ['GET', 'HEAD'],
    pathPatterns: ['/api/v1/*', '/', '/assets/*'],
  },
];

/**
 * Where a request that no rule matches goes (the ALB listener's default action). todo-read
 * answers such requests with 404 or 405, as it knows the whole contract.
 */
export const defaultService: ServiceName = 'todo-read';

function escapeRegExp(text: string): string {
  return text.replace(/[.+^${}()|[\]\\]/g, '\\$&');
}

/** Compiles an ALB path pattern (`*`, `?` wildcards; case-sensitive) to a RegExp. */
export function pathPatternToRegExp(pattern: string): RegExp {
  const body = escapeRegExp(pattern).replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

const compiledRules = [...routingRules]
  .sort((a, b) => a.priority - b.priority)
  .map((rule) => ({ rule, patterns: rule.pathPatterns.map(pathPatternToRegExp) }));

/** The service that serves `method path` (path without query string), as the ALB decides it. */
export function routeRequest(method: string, path: string): ServiceName {
  for (const { rule, patterns } of compiledRules) {
    if ((rule.methods as readonly string[]).includes(method) && patterns.some((p) => p.test(path))) {
      return rule.service;
    }
  }
  return defaultService;
}

/** One operation of the v1 API contract. `url` uses Fastify's `:param` syntax. */
export interface ApiOperation {
  readonly operationId: 'health' | 'listTodos' | 'getTodo' | 'createTodo' | 'updateTodo' | 'deleteTodo';
  readonly method: HttpMethod;
  readonly url: string;
}

export const apiOperations: readonly ApiOperation[] = [
  { operationId: 'health', method: 'GET', url: HEALTH_PATH },
  { operationId: 'listTodos', method: 'GET', url: '/api/v1/todos' },
  { operationId: 'getTodo', method: 'GET', url: '/api/v1/todos/:id' },
  { operationId: 'createTodo', method: 'POST', url: '/api/v1/todos' },
  { operationId: 'updateTodo', method: 'PUT', url: '/api/v1/todos/:id' },
  { operationId: 'deleteTodo', method: 'DELETE', url: '/api/v1/todos/:id' },
];

/** Paths served by todo-read that are not operations of the JSON API. */
export const OPENAPI_PATH = '/api/v1/openapi.json';

/** The service the routing table sends an operation to. */
export function serviceOf(operation: ApiOperation): ServiceName {
  return routeRequest(operation.method, operation.url.replace(/:[^/]+/g, '1'));
}

export function operationsServedBy(service: ServiceName): ApiOperation[] {
  return apiOperations.filter((operation) => serviceOf(operation) === service);
}

function urlToRegExp(url: string): RegExp {
  return new RegExp(
    `^${url
      .split('/')
      .map((part) => (part.startsWith(':') ? '[^/]+' : escapeRegExp(part)))
      .join('/')}/?$`,
  );
}

const operationMatchers = apiOperations.map((operation) => ({ operation, regExp: urlToRegExp(operation.url) }));

/**
 * Methods the API allows on a path (HEAD wherever GET is), or an empty list when the path is
 * not part of the API. Used to tell a 405 (known path, wrong method) from a 404.
 */
export function allowedMethods(path: string): HttpMethod[] {
  const methods = new Set<HttpMethod>();
  for (const { operation, regExp } of operationMatchers) {
    if (!regExp.test(path)) continue;
    methods.add(operation.method);
    if (operation.method === 'GET') methods.add('HEAD');
  }
  if (path === OPENAPI_PATH) methods.add('GET').add('HEAD');
  return METHOD_ORDER.filter((method) => methods.has(method));
}
