import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyBaseLogger } from 'fastify';
import type { CacheOutcome, CacheTier } from './log-schema.js';

/**
 * What one request did in its dependencies, gathered while it is served: the figures of its
 * canonical `request finished` line, of Server-Timing and of the `stats` line. One object per
 * request, its fields written in place (a class, so every record has one shape).
 */
export class RequestRecord {
  dbQueries = 0;
  dbMs = 0;
  /** Time in cache lookups and invalidations; undefined when the request used no cache. */
  cacheMs: number | undefined = undefined;
  /** The outcome of the request's (last) cache lookup. */
  cache: CacheOutcome | undefined = undefined;
  cacheTier: CacheTier | undefined = undefined;
  /** Why load shedding refused the request (`eventLoopDelay`, `concurrentRequests`…). */
  shed: string | undefined = undefined;
  /** The code of the error the request was answered with (`TASKOVERFLOW_DATABASE_UNAVAILABLE`, `FST_ERR_VALIDATION`…). */
  errorCode: string | undefined = undefined;
  /** What that error's cause said: its code (`ECONNREFUSED`, `57P01`), else its message (`Query read timeout`). */
  errorCause: string | undefined = undefined;

  constructor(readonly log: FastifyBaseLogger) {}
}

/**
 * The record of the request being served. AsyncLocalStorage, so that the database and cache
 * layers can add to it (and log with the request's correlation ID) without it being passed
 * down to them.
 */
export const requestRecords = new AsyncLocalStorage<RequestRecord>();

/** The logger of the request being served (it carries request_id, method and url), or `fallback` outside a request. */
export function currentLogger(fallback: FastifyBaseLogger): FastifyBaseLogger {
  return requestRecords.getStore()?.log ?? fallback;
}

/** Adds time spent in a dependency to the current request's figures; no-op outside one. */
export function recordTiming(dependency: 'db' | 'cache', durationMs: number): void {
  const record = requestRecords.getStore();
  if (!record) return;
  if (dependency === 'db') record.dbMs += durationMs;
  else record.cacheMs = (record.cacheMs ?? 0) + durationMs;
}

/** One SQL statement of the current request, failed ones included. */
export function recordQuery(durationMs: number): void {
  const record = requestRecords.getStore();
  if (!record) return;
  record.dbQueries += 1;
  record.dbMs += durationMs;
}

/** A cache lookup of the current request: its outcome, tier and time. */
export function recordCacheLookup(outcome: CacheOutcome, tier: CacheTier, durationMs: number): void {
  const record = requestRecords.getStore();
  if (!record) return;
  record.cache = outcome;
  record.cacheTier = tier;
  record.cacheMs = (record.cacheMs ?? 0) + durationMs;
}

/** Load shedding refused the current request, for `reason`. */
export function recordShed(reason: string): void {
  const record = requestRecords.getStore();
  if (record) record.shed = reason;
}

/** Longest error cause kept on the canonical line: a message can be long, the line is read by people. */
const ERROR_CAUSE_MAX_CHARS = 120;

/**
 * The error a request is answered with, for its canonical line: its code, and its cause's code
 * or message (packages/db wraps pg's error as the cause of DatabaseUnavailableError).
 */
export function recordError(record: RequestRecord, error: Error & { code?: unknown; cause?: unknown }): void {
  if (typeof error.code === 'string') record.errorCode = error.code;
  const cause = error.cause as { code?: unknown; message?: unknown } | null | undefined;
  if (typeof cause !== 'object' || cause === null) return;
  const said = typeof cause.code === 'string' && cause.code !== '' ? cause.code : cause.message;
  if (typeof said === 'string' && said !== '') record.errorCause = said.slice(0, ERROR_CAUSE_MAX_CHARS);
}

/** Rounds a duration for logs and headers: microsecond precision is noise here. */
export function roundMs(durationMs: number): number {
  return Math.round(durationMs * 1000) / 1000;
}
