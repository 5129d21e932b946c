/**
 * Where the services' output goes during the bench: nowhere. Each line is counted and then
 * dropped as soon as it arrives. Services write their logs synchronously to a pipe, so a
 * reader that falls behind (a console, or a file on a busy disk) would slow them down and the
 * bench would measure the reader; and at `info` a cached read logs one line (≈450 bytes), a
 * few hundred MB over a full run, which is not worth keeping. The counts give the log volume
 * per request and the outcome of every cache lookup; the last lines of each process are kept
 * to explain a crash.
 */
export interface OutputCount {
  lines: number;
  bytes: number;
  /** Cache lookups logged, by outcome: `{ hit: 1200, miss: 3 }` (logged at `info` only). */
  cacheOutcomes: Record<string, number>;
}

const RECENT_LINES = 20;
/** How a cache line names its outcome: `"cache":"hit"`. */
const CACHE_OUTCOME_FIELD = '"cache":"';

export class OutputDrain {
  readonly #counts = new Map<string, OutputCount>();
  readonly #recent = new Map<string, string[]>();

  /** The onLine callback for the process named `instance`. */
  sink(instance: string): (line: string) => void {
    const count: OutputCount = { lines: 0, bytes: 0, cacheOutcomes: {} };
    const recent: string[] = [];
    this.#counts.set(instance, count);
    this.#recent.set(instance, recent);
    return (line) => {
      count.lines += 1;
      count.bytes += line.length + 1; // the lines are JSON in ASCII: a character is a byte
      const field = line.indexOf(CACHE_OUTCOME_FIELD);
      if (field >= 0) {
        const start = field + CACHE_OUTCOME_FIELD.length;
        const outcome = line.slice(start, line.indexOf('"', start));
        count.cacheOutcomes[outcome] = (count.cacheOutcomes[outcome] ?? 0) + 1;
      }
      recent.push(line);
      if (recent.length > RECENT_LINES) recent.shift();
    };
  }

  /** What the process has printed so far (stdout and stderr). */
  count(instance: string): OutputCount {
    const count = this.#counts.get(instance);
    return count ? { ...count, cacheOutcomes: { ...count.cacheOutcomes } } : { lines: 0, bytes: 0, cacheOutcomes: {} };
  }

  recentLines(instance: string): string[] {
    return [...(this.#recent.get(instance) ?? [])];
  }
}
