import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * An incoming x-request-id is kept only if it is short and made of characters that need no
 * escaping in a log line, a header or a shell: the services and the edge share this one rule
 * (correlationId). 64 holds every id this module hands out (a UUID, an ALB trace Root) and a
 * W3C traceparent (55).
 */
export const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** The Root= part of an ALB trace header: `Root=1-67891233-abcdef012345678912345678`. */
export const AMZN_TRACE_ROOT = /(?:^|;)\s*Root=([A-Za-z0-9-]{1,64})/;

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The request's correlation ID: a well-formed incoming `x-request-id`, else the ALB's
 * `X-Amzn-Trace-Id` Root, else a fresh UUID. A hostile header (too long, newlines, quotes)
 * is replaced rather than echoed into logs and responses.
 */
export function correlationId(request: IncomingMessage): string {
  const incoming = header(request, 'x-request-id');
  if (incoming !== undefined && SAFE_REQUEST_ID.test(incoming)) return incoming;
  const traceRoot = AMZN_TRACE_ROOT.exec(header(request, 'x-amzn-trace-id') ?? '')?.[1];
  return traceRoot ?? randomUUID();
}
