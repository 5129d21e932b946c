import { CACHE_OUTCOMES, STATS_MESSAGE, type AnyStatsLine } from '@taskoverflow/observability';
import { formatLogLine } from './log-format.js';

/** Where the console text goes: process.stdout, or a test's collector. */
export interface ConsoleStream {
  write(text: string): unknown;
  /** A terminal: the summary is redrawn in place. Otherwise (a pipe, a file) it is appended. */
  readonly isTTY?: boolean;
  /** The terminal's width: longer summary lines are cut, so that they do not wrap. */
  readonly columns?: number;
  /** Bytes written so far by anyone: when others wrote below the summary, it is not erased. */
  readonly bytesWritten?: number;
}

/** How often the summary is redrawn (terminal) or considered for appending (pipe, file). */
const REFRESH_MS = 1_000;
/**
 * Intervals without a stats line after which an instance counts as idle: services write the
 * line only for an interval that saw requests.
 */
const IDLE_AFTER_INTERVALS = 2;
const INSTANCE_WIDTH = 14;
/** Erases the `lines` lines above the cursor (the summary drawn last) and moves there. */
const erase = (lines: number): string => (lines > 0 ? `\x1b[${lines}F\x1b[J` : '');

/** An instance's latest stats, or undefined while it is idle. */
export type StatsRows = ReadonlyMap<string, AnyStatsLine | undefined>;

/**
 * The console of a running stack, for a person at a terminal: start-up progress, the
 * services' warnings and errors made readable, and a summary table per instance built from
 * their `stats` lines. On a terminal the table stays at the bottom, redrawn in place; on a
 * pipe or in a file a new table is appended once per stats interval while there is traffic.
 * With `everyLine`, every line an instance prints is shown instead (stats lines among them).
 */
export class StackConsole {
  readonly #latest = new Map<string, { stats: AnyStatsLine; receivedAt: number }>();
  readonly #timer: NodeJS.Timeout;
  /** Stats arrived (or an instance stopped) since the summary was last drawn or appended. */
  #news = false;
  /** Terminal: how many lines the summary takes at the bottom of the screen. */
  #drawnLines = 0;
  /** Terminal: the stream's bytesWritten just after the summary was drawn. */
  #drawnAt: number | undefined;
  /** Terminal: the instances shown as idle when the summary was last drawn. */
  #drawnIdle = '';
  #appendedAt = 0;

  constructor(
    private readonly out: ConsoleStream,
    private readonly everyLine: boolean,
  ) {
    this.#timer = setInterval(() => this.refresh(Date.now()), REFRESH_MS).unref();
  }

  /** A line about the start-up or a change of the fleet, e.g. `todo-read-1: http://… ✓`. */
  progress(line: string): void {
    this.#print(line);
  }

  /** A line an instance printed: JSON log lines (warnings, errors, stats), or anything else. */
  instanceLine(instance: string, line: string, now = Date.now()): void {
    const stats = this.everyLine ? undefined : parseStatsLine(line);
    if (stats) {
      this.#latest.set(instance, { stats, receivedAt: now });
      this.#news = true;
    } else {
      this.#print(`${instance.padEnd(INSTANCE_WIDTH)} │ ${formatLogLine(line)}`);
    }
  }

  /** The instance has stopped: its row leaves the summary. */
  instanceStopped(instance: string): void {
    this.#news = this.#latest.delete(instance) || this.#news;
  }

  /**
   * Terminal: redraws the summary if it changed. Pipe or file: appends it if stats arrived and
   * an interval has passed since the last one. Runs every REFRESH_MS.
   */
  refresh(now: number): void {
    if (this.out.isTTY) {
      const idle = this.#idleInstances(now);
      if (!this.#news && idle === this.#drawnIdle) return;
      this.#news = false;
      const summary = this.#summaryLines(now);
      this.#draw(summary.map((line) => `${line}\n`).join(''), summary.length);
      this.#drawnIdle = idle;
      return;
    }
    const latest = [...this.#latest.values()];
    const interval = Math.max(0, ...latest.map(({ stats }) => stats.interval_ms));
    if (!this.#news || now - this.#appendedAt < interval) return;
    this.#news = false;
    this.#appendedAt = now;
    // Idle compared with the newest stats line, not with now: a late timer makes no row idle.
    const summary = this.#summaryLines(now, Math.max(...latest.map(({ receivedAt }) => receivedAt)));
    if (summary.length > 0) this.out.write(`${summary.join('\n')}\n`);
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #print(text: string): void {
    if (!this.out.isTTY || !this.#summaryAtBottom()) {
      this.out.write(`${text}\n`);
      return;
    }
    // Above the summary, which is drawn again below the new text.
    const summary = this.#summaryLines(Date.now());
    this.#draw(`${text}\n${summary.map((line) => `${line}\n`).join('')}`, summary.length);
  }

  /**
   * Whether the summary is the last thing on the terminal: drawn, and nothing written after
   * it by anyone else (pnpm start's own messages go straight to stdout).
   */
  #summaryAtBottom(): boolean {
    return this.#drawnLines > 0 && this.out.bytesWritten === this.#drawnAt;
  }

  /** Terminal: replaces the summary at the bottom (if it still is) with `text`, which ends with a summary of `lines` lines. */
  #draw(text: string, lines: number): void {
    this.out.write(`${this.#summaryAtBottom() ? erase(this.#drawnLines) : ''}${text}`);
    this.#drawnLines = lines;
    this.#drawnAt = this.out.bytesWritten;
  }

  /** The instances' latest stats, undefined for those idle at `at`. */
  #rows(at: number): StatsRows {
    const rows = new Map<string, AnyStatsLine | undefined>();
    for (const [instance, { stats, receivedAt }] of this.#latest) {
      rows.set(instance, at - receivedAt > IDLE_AFTER_INTERVALS * stats.interval_ms ? undefined : stats);
    }
    return rows;
  }

  #idleInstances(now: number): string {
    return [...this.#rows(now)]
      .filter(([, stats]) => !stats)
      .map(([instance]) => instance)
      .join(',');
  }

  #summaryLines(now: number, idleAt = now): string[] {
    if (this.#latest.size === 0) return [];
    const lines = formatStatsTable(this.#rows(idleAt), new Date(now));
    const width = this.out.columns;
    return width ? lines.map((line) => line.slice(0, width - 1)) : lines;
  }
}

/** The stats a service's `stats` line carries, or undefined for any other line. */
export function parseStatsLine(line: string): AnyStatsLine | undefined {
  if (!line.includes(`"msg":"${STATS_MESSAGE}"`)) return undefined;
  try {
    const entry = JSON.parse(line) as { msg?: unknown } & AnyStatsLine;
    return entry.msg === STATS_MESSAGE ? entry : undefined;
  } catch {
    return undefined;
  }
}

const COLUMNS: Array<[heading: string, cell: (stats: AnyStatsLine) => string]> = [
  ['req/s', (stats) => stats.rps.toFixed(stats.rps >= 100 ? 0 : 1)],
  ['p50 ms', (stats) => milliseconds(stats.p50_ms)],
  ['p95 ms', (stats) => milliseconds(stats.p95_ms)],
  ['p99 ms', (stats) => milliseconds(stats.p99_ms)],
  ['5xx', (stats) => String(stats.status_5xx)],
  ['503 shed', (stats) => String(stats.shed)],
  ['cache hit', (stats) => cacheShare(stats, stats.cache_hit)],
  ['bypass', (stats) => cacheShare(stats, stats.cache_bypass)],
  [
    'loop p99 ms',
    (stats) => (stats.event_loop_delay_p99_ms === undefined ? '–' : milliseconds(stats.event_loop_delay_p99_ms)),
  ],
  ['CPU', (stats) => `${Math.round((stats.cpu_ms / stats.interval_ms) * 100)}%`],
  ['RSS MB', (stats) => String(Math.round(stats.rss_mb))],
];

/**
 * The summary table: a heading with the time, then one row per instance in name order, each
 * figure over the instance's last stats interval; an idle instance's row says so.
 */
export function formatStatsTable(rows: StatsRows, at: Date): string[] {
  const instances = [...rows.keys()].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const cells = instances.map((instance) => {
    const stats = rows.get(instance);
    return stats ? COLUMNS.map(([, cell]) => cell(stats)) : ['idle', ...COLUMNS.slice(1).map(() => '–')];
  });
  const widths = COLUMNS.map(([heading], column) =>
    Math.max(heading.length, ...cells.map((row) => row[column]!.length)),
  );
  const row = (name: string, values: string[]): string =>
    `${name.padEnd(INSTANCE_WIDTH)}${values.map((value, column) => `  ${value.padStart(widths[column]!)}`).join('')}`;
  const intervals = [...rows.values()].flatMap((stats) => (stats ? [stats.interval_ms] : []));
  const over = intervals.length > 0 ? `last ${(Math.max(...intervals) / 1000).toFixed(0)} s` : 'idle';
  return [
    `── ${at.toTimeString().slice(0, 8)} · per instance, ${over} ──`,
    row(
      'instance',
      COLUMNS.map(([heading]) => heading),
    ),
    ...instances.map((instance, index) => row(instance, cells[index]!)),
  ];
}

function milliseconds(value: number): string {
  return value.toFixed(value >= 100 ? 0 : 1);
}

/** Share of the interval's cache lookups, or `–` for an instance without a cache (todo-write, the edge). */
function cacheShare(stats: AnyStatsLine, count = 0): string {
  const lookups = CACHE_OUTCOMES.reduce((sum, outcome) => sum + (stats[`cache_${outcome}`] ?? 0), 0);
  if (lookups === 0) return '–';
  const percent = (count / lookups) * 100;
  return `${percent.toFixed(percent > 0 && percent < 10 ? 1 : 0)}%`;
}
