import { createWriteStream, mkdirSync, readdirSync, rmSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';

/** An instance's log file in `logDir`, e.g. `<logDir>/todo-read-1.log`. */
export function logFilePath(logDir: string, instance: string): string {
  return join(logDir, `${instance}.log`);
}

/**
 * `<dir>/<instance>.log`, one per instance: the local stand-in for CloudWatch's log streams,
 * read by `pnpm trace`. One file per writer, so that no two processes append to one file.
 * Each instance writes its own (LOG_FILE), but in every-line mode this process writes them.
 */
export class LogFiles {
  readonly #streams = new Map<string, WriteStream>();

  /** Creates `dir` if need be and deletes the `*.log` files in it: `pnpm trace` then reads this run's lines only. */
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    for (const name of readdirSync(dir)) {
      if (name.endsWith('.log')) rmSync(join(dir, name), { force: true });
    }
  }

  pathOf(instance: string): string {
    return logFilePath(this.dir, instance);
  }

  write(instance: string, line: string): void {
    let stream = this.#streams.get(instance);
    if (!stream) {
      stream = createWriteStream(this.pathOf(instance), { flags: 'w' });
      this.#streams.set(instance, stream);
    }
    stream.write(`${line}\n`);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#streams.values()].map((stream) => new Promise((resolve) => stream.end(resolve))));
  }
}
