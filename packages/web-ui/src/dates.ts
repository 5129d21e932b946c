/**
 * Dates as the API writes them (UTC, ISO 8601 without an offset) shown in the browser's time
 * zone, and the deadline input's local time sent back as an instant.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** `2025-09-05T15:00:00` or `2026-04-18T05:46:10.381173`; no offset, and UTC all the same. */
const API_DATE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/**
 * Parsed by hand: `new Date()` would take a date-time without an offset as local time, and
 * six fractional digits are outside the format every browser must accept.
 */
export function parseApiDate(text: string): Date | undefined {
  const match = API_DATE.exec(text);
  if (!match) return undefined;
  // The pattern matched: every group is there, and the defaults never apply.
  const [year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0] = match.slice(1, 7).map(Number);
  const milliseconds = Number((match[7] ?? '').padEnd(3, '0').slice(0, 3));
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, milliseconds));
}

/**
 * A `datetime-local` value (`2025-09-05T17:00`, the browser's local time) as an ISO instant
 * with an offset (`Z`), which the API converts to UTC. Date parses a date-time without an
 * offset as local time, which is what the input means.
 */
export function localInputToIso(value: string): string {
  return new Date(value).toISOString();
}

const absoluteFormat = new Intl.DateTimeFormat(undefined, {
  weekday: 'short',
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: 'numeric',
  minute: '2-digit',
});

/** e.g. `Fri 5 Sept 2025, 5:00 pm` in the browser's locale and time zone. */
export function formatAbsolute(date: Date): string {
  return absoluteFormat.format(date);
}

// The sentences around relative times are English, so their numbers and units are too.
const relativeFormat = new Intl.RelativeTimeFormat('en', { numeric: 'always' });

type Unit = 'year' | 'month' | 'week' | 'day' | 'hour' | 'minute';
const UNITS: ReadonlyArray<readonly [Unit, number]> = [
  ['year', 365 * DAY],
  ['month', 30 * DAY],
  ['week', 7 * DAY],
  ['day', DAY],
  ['hour', HOUR],
  ['minute', MINUTE],
];
const durationFormats = new Map(
  UNITS.map(([unit]) => [unit, new Intl.NumberFormat('en', { style: 'unit', unit, unitDisplay: 'long' })]),
);

/** The largest unit that fits `milliseconds` (rounded), or undefined under a minute. */
function roughly(milliseconds: number): { value: number; unit: Unit } | undefined {
  const length = Math.abs(milliseconds);
  for (const [unit, size] of UNITS) {
    if (length >= size) return { value: Math.round(length / size), unit };
  }
  return undefined;
}

export interface DeadlineDescription {
  /** `due in 3 days`, `2 hours overdue`, `was due 5 days ago` (done), `due now`. */
  relative: string;
  overdue: boolean;
}

/** How a deadline stands at `now`; a completed todo is never overdue. */
export function describeDeadline(deadline: Date, now: Date, completed: boolean): DeadlineDescription {
  const ahead = deadline.getTime() - now.getTime();
  const amount = roughly(ahead);
  if (ahead >= 0) {
    return { relative: amount ? `due ${relativeFormat.format(amount.value, amount.unit)}` : 'due now', overdue: false };
  }
  if (completed) {
    return {
      relative: amount ? `was due ${relativeFormat.format(-amount.value, amount.unit)}` : 'was due just now',
      overdue: false,
    };
  }
  return {
    relative: amount ? `${durationFormats.get(amount.unit)!.format(amount.value)} overdue` : 'due now',
    overdue: true,
  };
}

/** `added 5 minutes ago`, `added just now`. */
export function describeCreated(created: Date, now: Date): string {
  const amount = roughly(now.getTime() - created.getTime());
  return amount ? `added ${relativeFormat.format(-amount.value, amount.unit)}` : 'added just now';
}
