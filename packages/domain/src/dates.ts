/**
 * Dates on the wire follow the original Flask TaskOverflow: UTC, ISO 8601 without an offset,
 * microseconds only when non-zero (Python's `datetime.isoformat()`), e.g. `2025-09-05T15:00:00`
 * and `2026-04-18T05:46:10.381173`. PostgreSQL stores them as `timestamp` (naive UTC).
 */

/** Extended (`2025-09-05T15:00:00.5+10:00`) and basic (`20250905T150000Z`) ISO 8601 forms. */
const EXTENDED =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/;
const BASIC = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(?:(\d{2})(?:(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?:\d{2})?)?)?$/;

const MS_PER_MINUTE = 60_000;

/**
 * What parseInputDate accepts, as a JSON Schema `pattern` (ECMA-262, and the same in Python's
 * `re`, so that generic tools such as Schemathesis or client generators read it alike): both
 * forms, real calendar dates (leap years included) and times, offsets up to ±23:59. `[0-9]`,
 * not `\d`, which in Python also matches other scripts' digits. The one thing it cannot say:
 * an offset that moves a date out of years 0001-9999 (`0001-01-01T00:00+01:00`), refused by
 * parseInputDate alone.
 */
export const INPUT_DATE_PATTERN = ((): string => {
  const year = '(?:[0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)';
  const leapYear = '(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)';
  const date = (dash: string): string =>
    `(?:${year}${dash}(?:(?:0[13578]|1[02])${dash}(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)${dash}(?:0[1-9]|[12][0-9]|30)|02${dash}(?:0[1-9]|1[0-9]|2[0-8]))|${leapYear}${dash}02${dash}29)`;
  const hour = '(?:[01][0-9]|2[0-3])';
  const minute = '[0-5][0-9]';
  const fraction = '(?:[.,][0-9]{1,9})?';
  const extended = `${date('-')}(?:[T ]${hour}(?::${minute}(?::${minute}${fraction})?)?(?:Z|[+-]${hour}(?::?${minute})?)?)?`;
  const basic = `${date('')}(?:T${hour}(?:${minute}(?:${minute}${fraction})?)?(?:Z|[+-]${hour}(?:${minute})?)?)?`;
  return `^(?:${extended}|${basic})$`;
})();

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function offsetMinutes(zone: string | undefined): number | undefined {
  if (zone === undefined || zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  if (hours > 23 || minutes > 59) return undefined;
  return sign * (hours * 60 + minutes);
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/**
 * Parses an input date or date-time (naive = UTC, `Z`, or an offset, which is converted to UTC)
 * into PostgreSQL's `timestamp` text form `YYYY-MM-DD HH:MM:SS.ffffff`. Returns `undefined` for
 * anything that is not a real ISO 8601 calendar date/time in years 0001–9999.
 */
export function parseInputDate(input: string): string | undefined {
  const match = EXTENDED.exec(input) ?? BASIC.exec(input);
  if (!match) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const offset = offsetMinutes(zone);
  if (offset === undefined) return undefined;

  // Offsets are whole minutes, so the sub-second part survives the shift untouched.
  const micros = fraction.padEnd(6, '0').slice(0, 6);
  const local = new Date(0);
  local.setUTCFullYear(year, month - 1, day);
  local.setUTCHours(hour, minute, second, 0);
  const utc = new Date(local.getTime() - offset * MS_PER_MINUTE);
  const utcYear = utc.getUTCFullYear();
  if (utcYear < 1 || utcYear > 9999) return undefined;
  return (
    `${pad(utcYear, 4)}-${pad(utc.getUTCMonth() + 1)}-${pad(utc.getUTCDate())} ` +
    `${pad(utc.getUTCHours())}:${pad(utc.getUTCMinutes())}:${pad(utc.getUTCSeconds())}.${micros}`
  );
}

/**
 * Converts PostgreSQL's text output of a `timestamp` (`2026-04-18 05:46:10.38117`: trailing
 * zeros of the fraction dropped, no fraction when zero) to the wire format.
 */
export function formatWireTimestamp(pgText: string): string {
  const [date, time = '00:00:00'] = pgText.split(' ');
  const [clock, fraction] = time.split('.');
  if (fraction === undefined || /^0*$/.test(fraction)) return `${date}T${clock}`;
  return `${date}T${clock}.${fraction.padEnd(6, '0')}`;
}
