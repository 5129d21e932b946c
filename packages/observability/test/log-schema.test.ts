/**
 * parseLogRecord: a JSON line's object, with HAProxy's request lines read in the Node edge's
 * schema (HAProxy writes them itself, so nothing rewrites them on the way to the file).
 */
import t from 'tap';
import { parseLogRecord } from '../src/log-schema.js';

/** A request line as HAPROXY_LOG_FORMAT writes it. */
function haproxyLine(termination: string, upstream = 'http://127.0.0.1:3101'): string {
  return JSON.stringify({ service: 'edge', status: 200, upstream, termination, msg: 'request finished' });
}

t.test('what is not a JSON object holds no record', async (t) => {
  for (const line of ['', 'not json', '[1,2]', 'null', '42', '{"cut":']) t.equal(parseLogRecord(line), undefined, line);
});

t.test('a line without HAProxy termination state is read as it is', async (t) => {
  const line = { level: 'info', upstream: 'http://-:-', msg: 'request finished', status: 200 };
  t.same(parseLogRecord(JSON.stringify(line)), line);
});

t.test('only request lines are read as HAProxy writes them', async (t) => {
  const line = { msg: 'stats', termination: 'cD', upstream: 'http://-:-' };
  t.same(parseLogRecord(JSON.stringify(line)), line);
});

t.test('HAProxy: a normal end is a plain request line', async (t) => {
  const record = parseLogRecord(haproxyLine('--'))!;
  t.equal(record.upstream, 'http://127.0.0.1:3101');
  t.equal(record.stalled, undefined);
  t.equal(record.aborted, undefined);
});

t.test('HAProxy: a client that stopped reading (cD, cL) is stalled, one that left first (C…) aborted', async (t) => {
  for (const termination of ['cD', 'cL']) {
    const record = parseLogRecord(haproxyLine(termination))!;
    t.equal(record.stalled, true, termination);
    t.equal(record.aborted, undefined, termination);
  }
  for (const termination of ['CD', 'CH', 'CQ', 'CR']) {
    const record = parseLogRecord(haproxyLine(termination))!;
    t.equal(record.aborted, true, termination);
    t.equal(record.stalled, undefined, termination);
  }
  // A server-side or local end is neither.
  for (const termination of ['sQ', 'LR', 'sH', 'SH', 'cR']) {
    const record = parseLogRecord(haproxyLine(termination))!;
    t.equal(record.stalled ?? record.aborted, undefined, termination);
  }
});

t.test('HAProxy: a request no replica answered has no upstream', async (t) => {
  const record = parseLogRecord(haproxyLine('LR', 'http://-:-'))!;
  t.notOk('upstream' in record);
  t.equal(record.termination, 'LR', 'the termination state is kept, as HAProxy wrote it');
});
