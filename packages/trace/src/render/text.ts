/** A duration for people: `17.2 ms`, or `—` when unknown. */
export function formatMs(ms: number | undefined): string {
  return ms === undefined ? '—' : `${ms.toFixed(1)} ms`;
}

/** A duration for a table column headed "… ms": `17.2`. */
export function formatMsCell(ms: number): string {
  return ms.toFixed(1);
}

/** A share as a percentage: `12%`, `0.4%`. */
export function formatShare(part: number, whole: number): string {
  if (whole === 0) return '—';
  const percent = (part / whole) * 100;
  return `${Math.abs(percent) < 10 && percent !== 0 ? percent.toFixed(1) : percent.toFixed(0)}%`;
}

/** `text` cut to `width` characters, an ellipsis marking the cut. */
export function truncate(text: string, width: number): string {
  if (text.length <= width) return text;
  return width < 1 ? '' : `${text.slice(0, width - 1)}…`;
}

/** An ISO 8601 UTC time with milliseconds, as the logs write it. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Times of a table's rows, as short as they can be while still telling them apart: the time
 * of day when all rows are on one UTC day, else date and time.
 */
export function compactTimes(times: number[]): string[] {
  const days = new Set(times.map((ms) => isoTime(ms).slice(0, 10)));
  return times.map((ms) => (days.size <= 1 ? isoTime(ms).slice(11, 23) : isoTime(ms).slice(0, 23).replace('T', ' ')));
}
