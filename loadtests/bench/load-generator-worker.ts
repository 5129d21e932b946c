/**
 * A load generator in a process of its own: autocannon on this process's event loop, run by
 * the bench over the IPC channel (load-generator.ts). The stack and saturation scenarios hit
 * several servers at once; generators sharing one event loop would hold each other up, and the
 * figures would measure them. Each run: a `LoadRun` message in, a `LoadResult` message out.
 */
import autocannon from 'autocannon';

export interface LoadRun {
  url: string;
  seconds: number;
  connections: number;
  pipelining: number;
  paths: string[];
}

export interface LoadResult {
  responses: number;
  /** Seconds autocannon ran for. */
  seconds: number;
  statusCounts: Record<string, number>;
  errors: number;
  timeouts: number;
  latencyMs: { p50: number; p99: number };
}

export type LoadReply = { result: LoadResult } | { error: string };

process.on('message', (run: LoadRun) => {
  autocannon(
    {
      url: run.url,
      connections: run.connections,
      pipelining: run.pipelining,
      duration: run.seconds,
      requests: run.paths.map((path) => ({ path })),
    },
    (error: Error | null, result: autocannon.Result) => {
      const reply: LoadReply = error
        ? { error: error.message }
        : {
            result: {
              responses: result.requests.total,
              seconds: result.duration,
              statusCounts: Object.fromEntries(
                Object.entries(result.statusCodeStats ?? {}).map(([status, { count }]) => [status, count ?? 0]),
              ),
              errors: result.errors,
              timeouts: result.timeouts,
              latencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
            },
          };
      process.send?.(reply);
    },
  );
});
// The bench disconnects to stop this process; nothing else keeps it alive.
process.on('disconnect', () => process.exit(0));
