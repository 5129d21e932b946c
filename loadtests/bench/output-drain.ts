import { CACHE_OUTCOMES, REQUEST_FINISHED_MESSAGE } from '@taskoverflow/observability/log-schema';

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
  /** The `db_queries` of every canonical `request finished` line, summed (at `info` only). */
  dbQueries: number;
}

/** Cache lookups in `outcomes`, every outcome counted. */
export function lookupCount(outcomes: Record<string, number>): number {
  return CACHE_OUTCOMES.reduce((sum, outcome) => sum + (outcomes[outcome] ?? 0), 0);
}

const RECENT_LINES = 20;
/** How the canonical line names its cache outcome: `"cache":"hit"`. */
const CACHE_OUTCOME_FIELD = '"cache":"';
/** Its query count; the `stats` line has a field of the same name, so only canonical lines are read. */
const DB_QUERIES_FIELD = '"db_queries":';
const CANONICAL_LINE = `"msg":"${REQUEST_FINISHED_MESSAGE}"`;

export class OutputDrain {
  readonly #counts = new Map<string, OutputCount>();
  readonly #recent = new Map<string, string[]>();

  /** The onLine callback for the process named `instance`. */
  sink(instance: string): (line: string) => void {
    const count: OutputCount = { lines: 0, bytes: 0, cacheOutcomes: {}, dbQueries: 0 };
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
      const queries = line.indexOf(DB_QUERIES_FIELD);
      if (queries >= 0 && line.includes(CANONICAL_LINE))
        count.dbQueries += Number.parseInt(line.slice(queries + DB_QUERIES_FIELD.length), 10) || 0;
      recent.push(line);
      if (recent.length > RECENT_LINES) recent.shift();
    };
  }

  /** What the process has printed so far (stdout and stderr). */
  count(instance: string): OutputCount {
    const count = this.#counts.get(instance);
    return count
      ? { ...count, cacheOutcomes: { ...count.cacheOutcomes } }
      : { lines: 0, bytes: 0, cacheOutcomes: {}, dbQueries: 0 };
  }

  recentLines(instance: string): string[] {
    return [...(this.#recent.get(instance) ?? [])];
  }
}
