import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseLogLine, type LogEntry } from './log-entry.js';

/** What a read went through, for the summary line. */
export interface ReadStats {
  /** The files read, in reading order. */
  files: string[];
  /** Non-blank lines. */
  lines: number;
  /** Lines that hold no log entry (not JSON, or no `time`): skipped. */
  unparseable: number;
}

/** The `*.log` files in `dir`, by name; none when the directory does not exist. */
export async function listLogFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw error;
  }
  return names
    .filter((name) => name.endsWith('.log'))
    .sort()
    .map((name) => join(dir, name));
}

/**
 * Hands every log entry of `files` to `visit`, file after file, each in line order. Streams:
 * only the current line is held, so logs of any size can be read; what to keep is up to
 * `visit`.
 */
export async function readLogEntries(files: string[], visit: (entry: LogEntry) => void): Promise<ReadStats> {
  const stats: ReadStats = { files, lines: 0, unparseable: 0 };
  for (const file of files) {
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      if (line.trim() === '') continue;
      stats.lines += 1;
      const entry = parseLogLine(line);
      if (entry) visit(entry);
      else stats.unparseable += 1;
    }
  }
  return stats;
}
