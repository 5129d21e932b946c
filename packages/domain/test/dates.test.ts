import t from 'tap';
import { formatWireTimestamp, INPUT_DATE_PATTERN, parseInputDate } from '../src/dates.js';
import { parseTodoId } from '../src/schemas.js';

t.test('parseInputDate accepts ISO 8601 dates and date-times and normalises them to UTC', async (t) => {
  const cases: Array<[string, string]> = [
    ['2025-09-05T15:00:00', '2025-09-05 15:00:00.000000'],
    ['2025-09-05 15:00:00', '2025-09-05 15:00:00.000000'],
    ['2025-09-05T15:00', '2025-09-05 15:00:00.000000'],
    ['2025-09-05T15', '2025-09-05 15:00:00.000000'],
    ['2025-09-05', '2025-09-05 00:00:00.000000'],
    ['2025-09-05T15:00:00Z', '2025-09-05 15:00:00.000000'],
    ['2025-09-05T15:00:00.123456', '2025-09-05 15:00:00.123456'],
    ['2025-09-05T15:00:00.5', '2025-09-05 15:00:00.500000'],
    ['2025-09-05T15:00:00.123456789Z', '2025-09-05 15:00:00.123456'],
    ['2025-09-06T01:00:00+10:00', '2025-09-05 15:00:00.000000'],
    ['2025-09-05T10:30:00-0430', '2025-09-05 15:00:00.000000'],
    ['2025-09-05T20:00:00+05', '2025-09-05 15:00:00.000000'],
    ['2025-01-01T00:30:00+01:00', '2024-12-31 23:30:00.000000'],
    ['20250905T150000Z', '2025-09-05 15:00:00.000000'],
    ['20250905', '2025-09-05 00:00:00.000000'],
    ['2024-02-29T12:00:00', '2024-02-29 12:00:00.000000'],
    ['0001-01-01T00:00:00', '0001-01-01 00:00:00.000000'],
    ['0099-06-01', '0099-06-01 00:00:00.000000'],
    ['9999-12-31T23:59:59.999999', '9999-12-31 23:59:59.999999'],
  ];
  for (const [input, expected] of cases) t.equal(parseInputDate(input), expected, input);
});

t.test('parseInputDate rejects what is not a real calendar date or time', async (t) => {
  const invalid = [
    '',
    'tomorrow',
    '2025-13-01',
    '2025-00-10',
    '2025-02-30',
    '2023-02-29',
    '2025-09-31',
    '2025-09-05T24:00:00',
    '2025-09-05T15:60:00',
    '2025-09-05T15:00:60',
    '2025-9-5',
    '2025-09-05T',
    '2025-09-05T15:00:00+24:00',
    '2025-09-05T15:00:00+10:60',
    '0000-01-01',
    '0001-01-01T00:00:00+01:00',
    '9999-12-31T23:00:00-05:00',
    '2025-09-05T15:00:00 Z',
    ' 2025-09-05',
    '2025-09-05\n',
    '1e3',
    '2025-09-0515:00',
  ];
  for (const input of invalid) t.equal(parseInputDate(input), undefined, JSON.stringify(input));
});

t.test('INPUT_DATE_PATTERN accepts exactly what parseInputDate does', async (t) => {
  const pattern = new RegExp(INPUT_DATE_PATTERN);
  const inputs = [
    ...[
      '2025-09-05T15:00:00',
      '2025-09-05 15:00',
      '2025-09-05T15',
      '2025-09-05',
      '20250905T150000Z',
      '20250905T1500+1000',
    ],
    ...['2025-09-05T15:00:00,5-04:30', '2025-09-05T10:30:00-0430', '0001-01-01', '9999-12-31T23:59:59.999999999'],
    ...['2024-02-29', '2000-02-29', '1600-02-29', '0400-02-29', '2023-02-28', '2025-04-30', '2025-12-31', '20240229'],
    ...[
      '',
      'tomorrow',
      '0000-01-01',
      '0000-02-29',
      '1900-02-29',
      '2100-02-29',
      '2023-02-29',
      '2025-04-31',
      '2025-02-30',
    ],
    ...['2025-13-01', '2025-00-10', '2025-09-00', '2025-09-05T24:00', '2025-09-05T15:60', '2025-09-05T15:00:60'],
    ...['2025-09-05T15:00:00+24:00', '2025-09-05T15:00:00+10:60', '2025-09-05T15:00:00.1234567890', '2025-9-5'],
    ...[
      '2025-09-05T',
      '20250905 150000',
      '2025-09-05T15:00:00 Z',
      ' 2025-09-05',
      '2025-09-05\n',
      '２０２５-09-05',
      '2025-0905',
    ],
  ];
  for (const input of inputs) {
    t.equal(
      pattern.test(input),
      parseInputDate(input) !== undefined,
      `${JSON.stringify(input)}: ${pattern.test(input) ? 'matches' : 'does not match'}`,
    );
  }
  // What a regular expression cannot know: an offset that moves the date out of 0001-9999.
  for (const input of ['0001-01-01T00:00:00+01:00', '9999-12-31T23:00:00-05:00']) {
    t.ok(pattern.test(input) && parseInputDate(input) === undefined, `${input}: matches, refused by parseInputDate`);
  }
});

t.test('formatWireTimestamp matches Python isoformat()', async (t) => {
  t.equal(formatWireTimestamp('2026-04-18 05:46:10.381173'), '2026-04-18T05:46:10.381173');
  t.equal(formatWireTimestamp('2026-04-18 05:46:10.38117'), '2026-04-18T05:46:10.381170');
  t.equal(formatWireTimestamp('2026-04-18 05:46:10.5'), '2026-04-18T05:46:10.500000');
  t.equal(formatWireTimestamp('2025-09-05 15:00:00'), '2025-09-05T15:00:00');
  t.equal(formatWireTimestamp('2025-09-05 15:00:00.000000'), '2025-09-05T15:00:00');
});

t.test('parseTodoId accepts positive integers within the serial range only', async (t) => {
  t.equal(parseTodoId('1'), 1);
  t.equal(parseTodoId('2147483647'), 2_147_483_647);
  for (const raw of ['0', '-1', '1.5', 'abc', '', '2147483648', '99999999999999999999', ' 1', '1e3', '0x10']) {
    t.equal(parseTodoId(raw), undefined, JSON.stringify(raw));
  }
});
