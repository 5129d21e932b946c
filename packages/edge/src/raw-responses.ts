/** Answers the edge gives itself, as raw HTTP: the Node edge writes them to sockets, HAProxy serves them as error files. */
import { STATUS_CODES } from 'node:http';

/** The Host values served: each entry as given, with the edge's port added to those without one. */
export function hostsAt(hosts: readonly string[], port: number): AllowedHosts {
  const names = new Set(hosts.map((host) => (/:\d+$/.test(host) ? host : `${host}:${port}`).toLowerCase()));
  return {
    names,
    refusal: `this edge serves only the Host names ${[...names].join(', ')}; add others to EDGE_ALLOWED_HOSTS`,
  };
}

export interface AllowedHosts {
  /** `name:port`, lower case. */
  names: ReadonlySet<string>;
  /** The 421's message. */
  refusal: string;
}

/** A whole JSON error response, written to a socket as it is; it closes the connection. */
export function rawResponse(status: number, message: string, headers: Record<string, string> = {}): string {
  const body = JSON.stringify({ error: message });
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n${extra.join('')}` +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}

/** The most header bytes a request may have: node:http's default, which HAProxy's configuration follows. */
export const MAX_HEADER_BYTES = 16 * 1024;

/** node:http's parser errors that have an answer of their own; any other is a 400. */
export const CLIENT_ERRORS: Readonly<Record<string, [number, string]>> = {
  HPE_HEADER_OVERFLOW: [431, `request headers too large: send at most ${MAX_HEADER_BYTES / 1024} KB of headers`],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request not received in time: send the whole request at once'],
};

/** The 503 of a service whose replicas cannot take a request in time: `reason` says which bound. */
export function atCapacity(service: string, reason: string, retryAfterSeconds: number): string {
  return `${service} is at capacity: ${reason}; retry after ${retryAfterSeconds} s`;
}

/** Why a request was refused at once: the queue it would join is longer than the wait allows. */
export function queueTooLong(service: string, maxQueueWaitMs: number): string {
  return `every ${service} replica has more requests waiting than it serves in ${maxQueueWaitMs} ms`;
}

/** Why a request was refused after waiting: no replica connection came free in time. */
export function waitedTooLong(service: string, maxQueueWaitMs: number): string {
  return `no connection to a ${service} replica came free within ${maxQueueWaitMs} ms`;
}

/** The answer to a request that cannot be parsed. */
export const MALFORMED_REQUEST: [number, string] = [400, 'malformed HTTP request: send a well-formed HTTP/1.1 request'];
