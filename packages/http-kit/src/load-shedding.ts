import underPressure, { type FastifyUnderPressureOptions as UnderPressureOptions } from '@fastify/under-pressure';
import { recordShed } from '@taskoverflow/observability';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

export interface LoadSheddingSettings {
  /** Shed while the event loop's mean delay exceeds this (ms); 0 turns the check off. */
  maxEventLoopDelayMs: number;
  /** Shed while event-loop utilisation (0–1, per sample) exceeds this; 0 turns the check off. */
  maxEventLoopUtilization: number;
  /** Shed when this many requests are already in progress; 0 turns the check off. */
  maxConcurrentRequests: number;
  /**
   * Shed while responses of this many bytes in all are being written and not yet handed to
   * the OS (a 1 MB list costs far more to write than a 1 KB todo); 0 turns the check off.
   */
  maxBytesInFlight: number;
  /** What a shed request's Retry-After says (s). */
  retryAfterSeconds: number;
}

const OVERLOADED = { error: 'service overloaded, retry shortly' };

declare module 'fastify' {
  interface FastifyReply {
    /** Response bytes this request counts in limitWorkInFlight's total; NOT_COUNTED when not in flight. */
    bytesInFlight: number;
  }
}
/** The reply is not counted in flight: a health check, a shed request, or one already closed. */
const NOT_COUNTED = -1;

/** How often under-pressure samples the event loop (ms). */
const EVENT_LOOP_SAMPLE_INTERVAL_MS = 250;

/**
 * The one rule between event-loop shedding and a failure detector that a busy event loop can
 * trip, such as the Redis command backstop (a reply waiting in the socket is not read while the
 * loop is stalled): shedding must begin first, or an overloaded replica mistakes its own
 * slowness for the dependency's outage and falls back to its most expensive path. A mean
 * delay over the threshold is acted on within one sample, so threshold + one sample must stay
 * below the detector's deadline. Returns the problem, or undefined when the relation holds
 * (or event-loop shedding is off).
 */
export function describeLateShedding(
  settings: LoadSheddingSettings,
  detector: { setting: string; ms: number },
): string | undefined {
  const { maxEventLoopDelayMs } = settings;
  if (maxEventLoopDelayMs === 0 || maxEventLoopDelayMs + EVENT_LOOP_SAMPLE_INTERVAL_MS < detector.ms) return undefined;
  return (
    `SHED_EVENT_LOOP_DELAY_MS (${maxEventLoopDelayMs}) plus the ${EVENT_LOOP_SAMPLE_INTERVAL_MS} ms sampling period must stay below ` +
    `${detector.setting} (${detector.ms}), so that an overloaded replica sheds before it takes its own late replies for an outage: ` +
    `lower SHED_EVENT_LOOP_DELAY_MS to ${detector.ms - EVENT_LOOP_SAMPLE_INTERVAL_MS - 1} or less, or raise ${detector.setting}`
  );
}

/**
 * Over capacity, answer 503 with Retry-After at once instead of queueing requests until they
 * time out (the original's failure mode: 60 s hangs). The health route is never shed: a busy
 * task is not a broken one, and failing its health check would make the ALB kill capacity
 * exactly when it is needed.
 */
export const loadSheddingPlugin = fp(
  async function loadSheddingPlugin(
    app: FastifyInstance,
    { settings, healthPath }: { settings: LoadSheddingSettings; healthPath: string },
  ) {
    if (settings.maxConcurrentRequests > 0 || settings.maxBytesInFlight > 0)
      limitWorkInFlight(app, settings, healthPath);
    if (settings.maxEventLoopDelayMs === 0 && settings.maxEventLoopUtilization === 0) return;
    await app.register(underPressure, {
      maxEventLoopDelay: settings.maxEventLoopDelayMs,
      maxEventLoopUtilization: settings.maxEventLoopUtilization,
      eventLoopUtilizationMode: 'interval',
      sampleInterval: EVENT_LOOP_SAMPLE_INTERVAL_MS,
      // A nullish return lets the request through; any other value is sent as the reply
      // (documented under-pressure behaviour that its types do not express).
      pressureHandler: ((request: FastifyRequest, reply: FastifyReply, type: string) => {
        if (request.url === healthPath) return undefined;
        // One line per request: the canonical line says `shed`, the stats line counts them.
        recordShed(type);
        reply.code(503).header('retry-after', String(settings.retryAfterSeconds));
        return OVERLOADED;
      }) as unknown as UnderPressureOptions['pressureHandler'],
    });
  },
  { fastify: '5.x', name: 'taskoverflow-load-shedding' },
);

/**
 * Caps on requests in progress and on response bytes in flight: a request over either is
 * answered 503 in the same tick, before it costs anything. Event-loop sampling reacts only
 * after the loop has already fallen behind; the caps keep the queue, and so the latency of
 * the requests they admit, bounded. Bytes count from onSend until the response has been
 * handed to the OS, so a replica busy writing large lists (to a proxy that reads them slowly)
 * refuses new work at once instead of letting it queue behind them.
 */
function limitWorkInFlight(app: FastifyInstance, settings: LoadSheddingSettings, healthPath: string): void {
  const maxRequests = settings.maxConcurrentRequests || Infinity;
  const maxBytes = settings.maxBytesInFlight || Infinity;
  let requests = 0;
  let bytes = 0;
  app.decorateReply('bytesInFlight', NOT_COUNTED);
  app.addHook('onRequest', (request, reply, done) => {
    if (request.url === healthPath) {
      done();
      return;
    }
    if (requests >= maxRequests || bytes >= maxBytes) {
      recordShed(requests >= maxRequests ? 'concurrentRequests' : 'bytesInFlight');
      // Answered from the hook: the route never runs (and done is not called).
      reply.code(503).header('retry-after', String(settings.retryAfterSeconds)).send(OVERLOADED);
      return;
    }
    requests += 1;
    reply.bytesInFlight = 0;
    // 'close' fires once whether the response finished (Node emits it right after 'finish') or
    // the client went away: one listener releases both counts ('on', not 'once', whose wrapper
    // costs allocations per request). A client that stops reading is reset after
    // CLIENT_DRAIN_TIMEOUT_MS (undrained-responses.ts), so its counts cannot be held for good.
    reply.raw.on('close', () => {
      requests -= 1;
      bytes -= reply.bytesInFlight;
      reply.bytesInFlight = NOT_COUNTED;
    });
    done();
  });
  if (maxBytes === Infinity) return;
  app.addHook('onSend', (_request, reply, payload, done) => {
    // Only a request counted above, and still open: a shed one, a health check or one whose
    // client has gone is not in flight.
    if (reply.bytesInFlight !== NOT_COUNTED) {
      // String length stands for its UTF-8 size: exact for the ASCII JSON served here, and
      // measuring a 1 MB string would cost a scan of it per response.
      const size = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload.length : 0;
      bytes += size - reply.bytesInFlight;
      reply.bytesInFlight = size;
    }
    done(null, payload);
  });
}
