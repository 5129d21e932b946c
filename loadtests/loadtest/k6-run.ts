/** Running one k6 script, with its web-dashboard report exported to a file. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { K6Binary } from './k6-binary.js';

export interface K6RunOptions {
  k6: K6Binary;
  script: string;
  /** More flags for `k6 run`, before the script (`--vus 10 --duration 30s`); none by default. */
  args?: string[];
  /** Settings for the script's __ENV (ENDPOINT, SCALE, RESULTS_DIR, overrides). */
  scenarioEnv: Record<string, string>;
  /** Where k6 writes its web-dashboard report (HTML). */
  reportPath: string;
  /** Show k6's banner, progress and summary on this terminal; otherwise keep the tail for errors. */
  echo: boolean;
  /** Aborting stops k6 as Ctrl-C would: it ends the iterations and still writes its summary. */
  abort?: AbortSignal;
}

export interface K6Outcome {
  exitCode: number;
  /** What k6's exit code means, e.g. `thresholds breached`. */
  meaning: string;
  /** The last lines k6 printed, when not echoed. */
  outputTail: string[];
}

export const K6_THRESHOLDS_BREACHED = 99;

/** k6's documented exit codes that a run here can end with. */
const EXIT_MEANINGS: Record<number, string> = {
  0: 'every threshold met',
  [K6_THRESHOLDS_BREACHED]: 'thresholds breached',
  100: 'setup() timed out',
  104: 'invalid configuration',
  105: 'stopped from outside (signal)',
  107: 'the script threw an exception',
  108: 'the script aborted the test',
};

const OUTPUT_TAIL_LINES = 40;

export async function runK6(options: K6RunOptions): Promise<K6Outcome> {
  const child = spawn(options.k6.path, ['run', ...(options.args ?? []), options.script], {
    env: {
      ...process.env,
      ...options.scenarioEnv,
      K6_WEB_DASHBOARD: 'true',
      // No dashboard server (k6 would wait for open browser tabs to close): the export only.
      K6_WEB_DASHBOARD_PORT: '-1',
      K6_WEB_DASHBOARD_EXPORT: options.reportPath,
      // One data point per second, for the latency-over-time plot.
      K6_WEB_DASHBOARD_PERIOD: '1s',
    },
    stdio: ['ignore', options.echo ? 'inherit' : 'pipe', options.echo ? 'inherit' : 'pipe'],
    // Its own process group: a terminal's Ctrl-C reaches only us, and we pass it on once
    // (through `abort`). A second SIGINT would make k6 quit without writing its summary.
    detached: true,
  });
  const outputTail: string[] = [];
  const keep = (chunk: Buffer): void => {
    outputTail.push(
      ...chunk
        .toString('utf8')
        .split('\n')
        .filter((line) => line.trim() !== ''),
    );
    outputTail.splice(0, Math.max(0, outputTail.length - OUTPUT_TAIL_LINES));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  const stop = (): void => void child.kill('SIGINT');
  options.abort?.addEventListener('abort', stop, { once: true });
  try {
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    const exitCode = code ?? 128;
    const meaning = signal ? `killed by ${signal}` : (EXIT_MEANINGS[exitCode] ?? `k6 exit code ${exitCode}`);
    return { exitCode, meaning, outputTail };
  } finally {
    options.abort?.removeEventListener('abort', stop);
  }
}
