/**
 * How the command-line tools (pnpm start, bench, loadtest, trace, migrate, edge-cost,
 * edge-overload) stop on Ctrl-C or SIGTERM: one line saying so, their own orderly stop, and
 * the exit status a shell and pnpm expect.
 */
import { constants } from 'node:os';

export type StopSignal = 'SIGINT' | 'SIGTERM';

/**
 * pnpm gets the terminal's Ctrl-C too and relays it to its script a moment later: a repeat
 * handled before the event loop has run a turn this long after the first is that copy, not a
 * second Ctrl-C. Counted in turns, not from when the handler ran: on a busy machine the loop may
 * be blocked for longer than this with the copy already waiting.
 */
const RELAYED_SIGNAL_MS = 1_000;

/**
 * On the first SIGINT or SIGTERM, prints `<signal>: <stopping>` to stderr and calls `stop`,
 * which stops what the tool started and then exits (with interruptedExitCode). Another signal
 * later exits at once, with 128 + its number; pnpm's relayed copy of the first is ignored.
 */
export function onStopSignal(stopping: string, stop: (signal: StopSignal) => void): void {
  let state: 'running' | 'stopping' | 'stopping, another signal exits' = 'running';
  const onSignal = (signal: StopSignal): void => {
    if (state === 'stopping') return;
    if (state !== 'running') {
      console.error(`${signal} again: exiting without waiting`);
      process.exit(128 + constants.signals[signal]);
    }
    state = 'stopping';
    // Timers run before the poll phase that reads a waiting signal, setImmediate after it.
    setTimeout(() => setImmediate(() => (state = 'stopping, another signal exits')), RELAYED_SIGNAL_MS).unref();
    console.error(`\n${signal}: ${stopping}`);
    stop(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/**
 * The exit status after a clean stop on `signal`: the convention, 128 + its number (130 for
 * Ctrl-C), when the tool runs directly; 0 when it runs as `pnpm <script>`, since pnpm reports
 * any other status of its script as `ELIFECYCLE Command failed`.
 */
export function interruptedExitCode(script: string, signal: StopSignal): number {
  return process.env.npm_lifecycle_event === script ? 0 : 128 + constants.signals[signal];
}

/**
 * A tool's stop on Ctrl-C or SIGTERM as an AbortSignal, for tools that pass one down to
 * what they run (onStopSignal prints `stopping`).
 */
export class Interruption {
  readonly #controller = new AbortController();
  #by: StopSignal | undefined;

  constructor(stopping: string) {
    onStopSignal(stopping, (signal) => {
      this.#by = signal;
      this.#controller.abort(new Error(`interrupted by ${signal}`));
    });
  }

  /** Aborted on the first SIGINT or SIGTERM. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Once the tool has stopped: its exit status (interruptedExitCode); undefined when no signal came. */
  exitCode(script: string): number | undefined {
    return this.#by && interruptedExitCode(script, this.#by);
  }
}
