/**
 * Runs the service whose entry file BENCH_SERVICE_ENTRY names, with a blocking stdout, as the
 * service has in production.
 *
 * The bench starts services as the local stack does, through tsx, and tsx's loader touches
 * process.stdout at start-up, which makes Node switch the stdout pipe to non-blocking mode;
 * `node dist/server.js`, how the services run in their containers, leaves it blocking. The
 * difference is large for pino's synchronous destination: on a full non-blocking pipe it
 * sleeps 100 ms with the event loop stopped, where a blocking write waits only until the
 * reader has made room. Through the bench's own drain a logging process got about 3,000 lines
 * out per second the first way and 90,000 the second.
 */
import { pathToFileURL } from 'node:url';

interface BlockingCapableHandle {
  setBlocking?: (blocking: boolean) => number;
}

const entry = process.env.BENCH_SERVICE_ENTRY;
if (!entry) {
  process.stderr.write('service-entry: BENCH_SERVICE_ENTRY is not set; pnpm bench sets it to the service to run\n');
  process.exit(1);
}
(process.stdout as unknown as { _handle?: BlockingCapableHandle })._handle?.setBlocking?.(true);
await import(pathToFileURL(entry).href);
