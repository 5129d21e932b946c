import type { OperationId } from '@taskoverflow/domain';
import { SAFE_REQUEST_ID } from '@taskoverflow/observability';

/**
 * What the route schemas cannot say, added to the generated OpenAPI document: the headers
 * every service sets on every answer (x-request-id, Server-Timing), the answers no single
 * route produces (503 when a service sheds load or PostgreSQL is unavailable, 429 when rate
 * limiting is on), conditional GETs (ETag, If-None-Match), and a description per status.
 * Kept out of the route schemas on purpose: those also compile the response serializers and
 * the request validators of the hot path.
 */

interface HeaderObject {
  description: string;
  required?: boolean;
  schema: Record<string, unknown>;
}
interface ResponseObject {
  description: string;
  headers?: Record<string, HeaderObject>;
  content?: unknown;
}
interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  description: string;
  schema: Record<string, unknown>;
}
interface OperationObject {
  operationId: OperationId;
  parameters?: ParameterObject[];
  responses: Record<string, ResponseObject>;
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, OperationObject>>;
}

/** How a request's correlation id is chosen (the request header is described in info.description). */
export const REQUEST_ID_RULE = `An x-request-id matching ${SAFE_REQUEST_ID.source} is kept; otherwise the ALB trace Root, else a new UUID.`;

const EVERY_RESPONSE_HEADERS: Record<string, HeaderObject> = {
  'x-request-id': {
    description: `The request's correlation id, as its log lines carry it. ${REQUEST_ID_RULE}`,
    required: true,
    schema: { type: 'string', pattern: SAFE_REQUEST_ID.source },
  },
  'server-timing': {
    description: 'Where the time went: db;dur=…, cache;dur=… (reads), total;dur=… (milliseconds).',
    schema: { type: 'string' },
  },
};

const RETRY_AFTER: HeaderObject = {
  description: 'Seconds to wait before retrying.',
  required: true,
  schema: { type: 'string', pattern: '^[0-9]+$' },
};

const ERROR_CONTENT = {
  'application/json': {
    schema: { type: 'object', required: ['error'], properties: { error: { type: 'string' } } },
  },
};

const RETRYABLE_RESPONSES: Record<string, ResponseObject> = {
  '429': {
    description:
      'Too many requests from this client (only where RATE_LIMIT_MAX_REQUESTS is set); retry after Retry-After seconds.',
    headers: {
      'retry-after': RETRY_AFTER,
      'x-ratelimit-limit': { description: 'Requests a client may make per window.', schema: { type: 'string' } },
      'x-ratelimit-reset': { description: 'Seconds until the window restarts.', schema: { type: 'string' } },
    },
    content: ERROR_CONTENT,
  },
  '503': {
    description:
      'The service is shedding load, or PostgreSQL is unavailable or stopped answering. Retry after Retry-After ' +
      'seconds; a create retried with the same Idempotency-Key is applied once, even if the first attempt was.',
    headers: { 'retry-after': RETRY_AFTER },
    content: ERROR_CONTENT,
  },
};

const STATUS_DESCRIPTIONS: Record<string, string> = {
  '200': 'OK.',
  '201': 'Created.',
  '304': 'Not modified: the If-None-Match ETag is current.',
  '400': 'Bad input; the error names the problem. Nothing was changed.',
  '404': 'No such todo (also for an id that cannot name one).',
  '413': 'Request body over 64 KiB.',
  '415': 'Content-Type is not application/json.',
  '422': 'Idempotency-Key was already used with another body.',
};

/** Conditional GETs: cached reads carry a strong ETag. */
const CONDITIONAL_READS: ReadonlySet<OperationId> = new Set(['listTodos', 'getTodo']);

const IF_NONE_MATCH_PARAMETER: ParameterObject = {
  name: 'if-none-match',
  in: 'header',
  required: false,
  description: 'ETag(s) of a copy the client has (or *): a current one gets 304 with no body.',
  schema: { type: 'string' },
};

const ETAG_HEADER: HeaderObject = {
  description: 'Strong validator of this representation; send it back in If-None-Match.',
  required: true,
  schema: { type: 'string', pattern: '^"[^"]+"$' },
};

const IDEMPOTENT_REPLAYED_HEADER: HeaderObject = {
  description: 'true when this is the stored first response to a retry with the same Idempotency-Key.',
  schema: { type: 'string', enum: ['true'] },
};

/** Adds the service-wide parameters, headers and responses to every operation of `document`, in place. */
export function addServiceWideDocumentation(document: OpenApiDocument): void {
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item)) documentOperation(operation);
  }
}

function documentOperation(operation: OperationObject): void {
  const conditional = CONDITIONAL_READS.has(operation.operationId);
  if (conditional) operation.parameters = [...(operation.parameters ?? []), IF_NONE_MATCH_PARAMETER];
  // Health is never shed nor rate limited, and touches no database; its 503 is its own (draining).
  if (operation.operationId !== 'health') Object.assign(operation.responses, RETRYABLE_RESPONSES);
  for (const [status, response] of Object.entries(operation.responses)) {
    if (response.description === 'Default Response')
      response.description = STATUS_DESCRIPTIONS[status] ?? response.description;
    response.headers = { ...EVERY_RESPONSE_HEADERS, ...response.headers };
    if (conditional && (status === '200' || status === '304')) response.headers.etag = ETAG_HEADER;
    if (operation.operationId === 'createTodo' && status === '201') {
      response.headers['idempotent-replayed'] = IDEMPOTENT_REPLAYED_HEADER;
    }
  }
}
