import { createHash } from 'node:crypto';

/** A response as the cache keeps it: ready-to-send bytes and their strong ETag. */
export interface CachedResponse {
  status: number;
  body: Buffer;
  etag: string;
}

/** Serializes a JSON response once; every later hit sends these bytes as they are. */
export function jsonResponse(status: number, value: unknown): CachedResponse {
  const body = Buffer.from(JSON.stringify(value));
  return { status, body, etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
}

/** Whether an If-None-Match header names this ETag (weak comparison, as RFC 9110 asks for GET). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  // What a revalidating client sends back: the ETag it was given, alone (no allocation).
  if (ifNoneMatch === etag) return true;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag);
}

/** Redis value layout: `<status> <etag>\n<body>`. */
export function encodeResponse(response: CachedResponse): Buffer {
  return Buffer.concat([Buffer.from(`${response.status} ${response.etag}\n`), response.body]);
}

export function decodeResponse(value: Buffer): CachedResponse | undefined {
  const newline = value.indexOf(0x0a);
  if (newline < 0) return undefined;
  const [status, etag] = value.subarray(0, newline).toString().split(' ');
  if (!status || !etag || !/^\d{3}$/.test(status)) return undefined;
  return { status: Number(status), etag, body: value.subarray(newline + 1) };
}
