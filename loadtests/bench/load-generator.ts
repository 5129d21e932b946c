/** The bench's side of load-generator-worker.ts: start generator processes, run them at once, stop them. */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { LoadReply, LoadResult, LoadRun } from './load-generator-worker.js';

const ENTRY = fileURLToPath(new URL('./load-generator-worker.ts', import.meta.url));

export class LoadGenerator {
  private constructor(readonly child: ChildProcess) {}

  /** Starts a generator process (through tsx, as the bench runs); it waits for runs. */
  static async start(): Promise<LoadGenerator> {
    const child = fork(ENTRY, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    await once(child, 'spawn');
    return new LoadGenerator(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** One autocannon run; rejects if the process fails or exits first, or on abort (stopping the process). */
  run(run: LoadRun, signal: AbortSignal): Promise<LoadResult> {
    signal.throwIfAborted();
    return new Promise((resolve, reject) => {
      const settle = (): void => {
        this.child.off('message', onReply).off('exit', onExit);
        signal.removeEventListener('abort', onAbort);
      };
      const onReply = (reply: LoadReply): void => {
        settle();
        if ('error' in reply) reject(new Error(`load generator: ${reply.error}`));
        else resolve(reply.result);
      };
      const onExit = (code: number | null): void => {
        settle();
        reject(new Error(`the load generator (pid ${this.pid}) exited with code ${code} during a run`));
      };
      const onAbort = (): void => {
        settle();
        this.child.kill('SIGTERM');
        // Every abort here carries an Error: ours (cli.ts) or the default AbortError.
        reject(signal.reason as Error);
      };
      this.child.on('message', onReply).on('exit', onExit);
      signal.addEventListener('abort', onAbort, { once: true });
      this.child.send(run);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.disconnect();
    await exited;
  }
}
