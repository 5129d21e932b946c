import { createWriteStream, mkdirSync, readdirSync, rmSync, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

/** An instance's log file in `logDir`, e.g. `<logDir>/todo-read-1.log`. */
export function logFilePath(logDir: string, instance: string): string {
  return join(logDir, `${instance}.log`);
}

/**
 * `<dir>/<instance>.log`, one per instance: the local stand-in for CloudWatch's log streams,
 * read by `pnpm trace`. One file per instance: each writes its own (LOG_FILE), but in every-line
 * mode this process writes them. HAProxy's file has two writers of whole lines through one open
 * file: HAProxy its request lines, this process the rest (haproxy-process.ts).
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

/**
 * The complete lines appended to a file since the last read; none while it does not exist.
 * A line still being written waits for the next read.
 */
export class AppendedLines {
  #offset = 0;
  #partial = '';
  // Holds back a character cut in two by the end of what was written so far.
  readonly #decoder = new StringDecoder('utf8');

  constructor(readonly path: string) {}

  async read(): Promise<string[]> {
    const handle = await open(this.path, 'r').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (!handle) return [];
    let text = this.#partial;
    try {
      const { size } = await handle.stat();
      const buffer = Buffer.allocUnsafe(Math.max(0, size - this.#offset));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.#offset);
      this.#offset += bytesRead;
      text += this.#decoder.write(buffer.subarray(0, bytesRead));
    } finally {
      await handle.close();
    }
    const lines = text.split('\n');
    this.#partial = lines.pop()!;
    return lines;
  }
}
