import t from 'tap';
import { formatStatsTable, parseStatsLine, StackConsole, type ConsoleStream } from '../src/stack-console.js';

// The table's heading shows the local time.
process.env.TZ = 'UTC';

/** Stats lines as todo-read-1, todo-read-2 and todo-write-1 logged them in a `pnpm start` run (STATS_INTERVAL_MS=1000). */
const RECORDED = {
  'todo-read-1':
    '{"level":"info","time":"2026-12-01T15:14:38.713Z","service":"todo-read","hostname":"todo-read-1","interval_ms":1000,"requests":162,"rps":161.9,"p50_ms":5.657,"p95_ms":22.627,"p99_ms":76.109,"status_5xx":0,"shed":0,"rate_limited":0,"cache_hit":157,"cache_miss":5,"cache_stale":0,"cache_bypass":0,"db_queries":1,"event_loop_delay_p99_ms":53.117,"rss_mb":125.5,"cpu_ms":188,"msg":"stats"}',
  'todo-read-2':
    '{"level":"info","time":"2026-12-01T15:14:39.718Z","service":"todo-read","hostname":"todo-read-2","interval_ms":998,"requests":150,"rps":150.2,"p50_ms":4.757,"p95_ms":76.109,"p99_ms":128,"status_5xx":3,"shed":3,"rate_limited":0,"cache_hit":140,"cache_miss":1,"cache_stale":0,"cache_bypass":6,"db_queries":7,"event_loop_delay_p99_ms":130.22,"rss_mb":125.8,"cpu_ms":116,"msg":"stats"}',
  'todo-write-1':
    '{"level":"info","time":"2026-12-01T15:14:36.775Z","service":"todo-write","hostname":"todo-write-1","interval_ms":1001,"requests":2,"rps":2,"p50_ms":128,"p95_ms":256,"p99_ms":256,"status_5xx":0,"shed":0,"rate_limited":0,"cache_hit":0,"cache_miss":0,"cache_stale":0,"cache_bypass":0,"db_queries":2,"event_loop_delay_p99_ms":252.576,"rss_mb":104.8,"cpu_ms":30,"msg":"stats"}',
};
const WARNING =
  '{"level":"warn","time":"2026-12-01T15:14:32.673Z","service":"todo-read","hostname":"todo-read-1","msg":"REDIS_URL is not set: todo-read runs uncached, every read queries PostgreSQL"}';
const AT = Date.parse('2026-12-01T15:14:40Z');
/** How the summary (a heading, a column header and 3 rows) is erased: cursor up 5 lines, clear below. */
const ERASE_SUMMARY = '\x1b[5F\x1b[J';

const TABLE = [
  '── 15:14:40 · per instance, last 1 s ──',
  'instance        req/s  p50 ms  p95 ms  p99 ms  5xx  503 shed  cache hit  bypass  loop p99 ms  CPU  RSS MB',
  'todo-read-1       162     5.7    22.6    76.1    0         0        97%      0%         53.1  19%     126',
  'todo-read-2       150     4.8    76.1     128    3         3        95%    4.1%          130  12%     126',
  'todo-write-1      2.0     128     256     256    0         0          –       –          253   3%     105',
];

/** A console stream that keeps what is written. */
function collector(isTTY: boolean): ConsoleStream & { text: string } {
  return {
    isTTY,
    text: '',
    write(text: string) {
      this.text += text;
    },
  };
}

t.test(
  'one row per instance from its stats line: rates, latencies, errors, cache shares, event loop, CPU, memory',
  async (t) => {
    const rows = new Map(Object.entries(RECORDED).map(([instance, line]) => [instance, parseStatsLine(line)]));
    t.same(formatStatsTable(rows, new Date(AT)), TABLE);
  },
);

t.test('an idle instance (no stats line lately) says so', async (t) => {
  const rows = new Map([
    ['todo-read-1', parseStatsLine(RECORDED['todo-read-1'])],
    ['todo-write-1', undefined],
  ]);
  t.equal(
    formatStatsTable(rows, new Date(AT))[3],
    'todo-write-1     idle       –       –       –    –         –          –       –            –    –       –',
  );
});

t.test("the edge's row: its figures, and no cache columns (its line has no cache fields)", async (t) => {
  const edge =
    '{"level":"info","time":"2026-12-01T15:14:39.900Z","service":"edge","hostname":"edge","interval_ms":1000,"requests":312,"rps":311.7,"p50_ms":6.727,"p95_ms":32,"p99_ms":107.635,"status_5xx":3,"shed":3,"upstream_errors":0,"event_loop_delay_p99_ms":21.152,"rss_mb":74.2,"cpu_ms":96,"msg":"stats"}';
  const rows = new Map([
    ['edge', parseStatsLine(edge)],
    ['todo-read-1', parseStatsLine(RECORDED['todo-read-1'])],
  ]);
  t.same(formatStatsTable(rows, new Date(AT)).slice(2), [
    'edge              312     6.7    32.0     108    3         3          –       –         21.2  10%      74',
    TABLE[2],
  ]);
});

t.test('only stats lines are stats', async (t) => {
  t.equal(parseStatsLine(WARNING), undefined);
  t.equal(parseStatsLine('plain text mentioning "msg":"stats"'), undefined);
  t.equal(parseStatsLine(RECORDED['todo-write-1'])?.requests, 2);
});

t.test(
  'piped: warnings at once, readable; the summary appended once per stats interval, only after news',
  async (t) => {
    const out = collector(false);
    const stackConsole = new StackConsole(out, false);
    t.teardown(() => stackConsole.close());

    stackConsole.instanceLine('todo-read-1', WARNING, AT - 500);
    t.equal(
      out.text,
      'todo-read-1    │ 15:14:32.673 WARN  REDIS_URL is not set: todo-read runs uncached, every read queries PostgreSQL\n',
    );
    out.text = '';
    for (const [instance, line] of Object.entries(RECORDED)) stackConsole.instanceLine(instance, line, AT - 100);
    t.equal(out.text, '', 'stats lines are not printed as lines');
    stackConsole.refresh(AT);
    t.equal(out.text, `${TABLE.join('\n')}\n`);

    out.text = '';
    stackConsole.instanceLine('todo-read-1', RECORDED['todo-read-1'], AT + 200);
    stackConsole.refresh(AT + 500);
    t.equal(out.text, '', 'not again within the interval');
    stackConsole.instanceStopped('todo-read-2');
    stackConsole.refresh(AT + 1_100);
    t.match(
      out.text,
      /^── 15:14:41 .*\n.*\ntodo-read-1 .*\ntodo-write-1 .*\n$/,
      'an interval later, without the stopped instance',
    );
    out.text = '';
    stackConsole.refresh(AT + 5_000);
    t.equal(out.text, '', 'nothing new, nothing appended');
  },
);

t.test(
  'piped: a table appended late (a busy machine delays the timer) shows the stats that made it, not idle rows',
  async (t) => {
    const out = collector(false);
    const stackConsole = new StackConsole(out, false);
    t.teardown(() => stackConsole.close());
    stackConsole.instanceLine('todo-read-1', RECORDED['todo-read-1'], AT);
    stackConsole.refresh(AT + 5_000);
    t.match(out.text, /\ntodo-read-1 +162 /);
  },
);

t.test('on a terminal: the summary stays at the bottom, redrawn in place', async (t) => {
  const out = collector(true);
  const stackConsole = new StackConsole(out, false);
  t.teardown(() => stackConsole.close());

  for (const [instance, line] of Object.entries(RECORDED)) stackConsole.instanceLine(instance, line, AT - 100);
  stackConsole.refresh(AT);
  t.equal(out.text, `${TABLE.join('\n')}\n`, 'drawn below what was printed');

  out.text = '';
  stackConsole.progress('todo-read-3: http://127.0.0.1:4000 ✓');
  t.equal(out.text.slice(0, ERASE_SUMMARY.length), ERASE_SUMMARY, 'a printed line erases the summary (its 5 lines)');
  t.match(
    out.text.slice(ERASE_SUMMARY.length),
    /^todo-read-3: http:\/\/127\.0\.0\.1:4000 ✓\n── [^\n]*\n(.*\n){4}$/,
    'is printed, and the summary is drawn again below it',
  );

  out.text = '';
  stackConsole.refresh(AT + 500);
  t.equal(out.text, '', 'no news, no redraw');
  stackConsole.refresh(AT + 2_500);
  t.equal(
    out.text.slice(0, ERASE_SUMMARY.length),
    ERASE_SUMMARY,
    'after two intervals without stats, the summary is erased',
  );
  t.match(
    out.text.slice(ERASE_SUMMARY.length),
    /^(.*\n){2}(todo-\S+ +idle .*\n){3}$/,
    'and every instance is redrawn as idle',
  );
});

t.test('on a terminal: text someone else wrote below the summary is never erased', async (t) => {
  const out = {
    ...collector(true),
    bytesWritten: 0,
    write(text: string) {
      this.text += text;
      this.bytesWritten += Buffer.byteLength(text);
    },
  };
  const stackConsole = new StackConsole(out, false);
  t.teardown(() => stackConsole.close());
  stackConsole.instanceLine('todo-read-1', RECORDED['todo-read-1'], AT - 100);
  stackConsole.refresh(AT);
  out.write('\nSIGINT: stopping…\n'); // pnpm start's own console.log

  out.text = '';
  stackConsole.instanceLine('todo-read-1', WARNING, AT + 100);
  t.equal(
    out.text,
    'todo-read-1    │ 15:14:32.673 WARN  REDIS_URL is not set: todo-read runs uncached, every read queries PostgreSQL\n',
    'printed below, nothing erased',
  );
  out.text = '';
  stackConsole.instanceLine('todo-read-1', RECORDED['todo-read-1'], AT + 900);
  stackConsole.refresh(AT + 1_000);
  t.notOk(out.text.includes('\x1b'), 'the next summary is drawn afresh below (no escape sequence erases anything)');
  t.match(out.text, /^── 15:14:41/);
});

t.test('--pretty: every line is shown, stats lines too', async (t) => {
  const out = collector(false);
  const stackConsole = new StackConsole(out, true);
  t.teardown(() => stackConsole.close());
  stackConsole.instanceLine('todo-write-1', RECORDED['todo-write-1'], AT);
  t.match(out.text, /^todo-write-1 +│ 15:14:36\.775 INFO {2}stats interval_ms=1001 requests=2 /);
});
