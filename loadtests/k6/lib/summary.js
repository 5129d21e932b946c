/**
 * The end-of-test summary (handleSummary): one table per scenario, every check, every
 * threshold with the value it was judged on, and a verdict. Written to stdout and as
 * <name>-summary.txt / <name>-summary.json under the results directory; `pnpm loadtest` reads
 * the JSON. Written here rather than taken from jslib.k6.io so that a run needs no network.
 */

/** Per-scenario figures come from these sub-metrics; each scenario's thresholds create them. */
const TREND_STATS = ['med', 'p(95)', 'p(99)', 'max', 'count'];

/** The summaryTrendStats option the scenarios need for summarize(). */
export const SUMMARY_TREND_STATS = ['avg', 'min', ...TREND_STATS];

/**
 * Failed requests by cause, for the bottleneck report (pnpm loadtest): no response at all
 * (status 0: no connection, or it broke), k6's own request timeout (error code 1050), and the
 * statuses a load balancer or an overloaded service answers with. k6 keeps a sub-metric in its
 * summary only when a threshold names it, so each gets one that always holds (COUNTED), which
 * the summary then drops: the run is judged on its real thresholds only.
 */
const FAILURE_CAUSES = ['status:0', 'error_code:1050', 'status:429', 'status:502', 'status:503', 'status:504'];
const COUNTED = 'count>=0';
/** Spread into a scenario's thresholds. */
export const FAILURE_CAUSE_THRESHOLDS = Object.fromEntries(
  FAILURE_CAUSES.map((tag) => [`http_reqs{${tag}}`, [COUNTED]]),
);

/**
 * handleSummary's return value.
 * @param data k6's summary data
 * @param run `{ name, scale, endpoint, settings: [line…], scenarios: [name…], resultsDir }`, and
 *   optionally `script` (a user's script: its path; it has no scale) and `thinkSeconds`
 *   (`{ scenario: seconds }`, each scenario's think time per iteration, for the report's
 *   verdict on what bounded the request rate)
 */
export function summaryFiles(data, run) {
  data = withoutCountingThresholds(data);
  const text = summaryText(data, run);
  const base = `${run.resultsDir}/${run.scale ? `${run.name}-${run.scale}` : run.name}`;
  return {
    stdout: `\n${text}\n`,
    [`${base}-summary.txt`]: `${text}\n`,
    [`${base}-summary.json`]: JSON.stringify({ run: runInfo(run), ...data }, null, 2),
  };
}

/** The summary data without the COUNTED thresholds; their sub-metrics' values stay. */
function withoutCountingThresholds(data) {
  const metrics = Object.fromEntries(
    Object.entries(data.metrics).map(([name, metric]) => {
      if (!metric.thresholds) return [name, metric];
      const thresholds = Object.fromEntries(
        Object.entries(metric.thresholds).filter(([expression]) => expression !== COUNTED),
      );
      return [
        name,
        Object.keys(thresholds).length > 0 ? { ...metric, thresholds } : { ...metric, thresholds: undefined },
      ];
    }),
  );
  return { ...data, metrics };
}

function runInfo(run) {
  const { name, scale, script, endpoint, settings, scenarios, thinkSeconds } = run;
  return { name, scale, script, endpoint, settings, scenarios, thinkSeconds };
}

function summaryText(data, run) {
  const thresholds = thresholdResults(data);
  const breached = thresholds.filter((threshold) => !threshold.ok);
  const lines = [
    `${run.name} · ${run.scale ? `scale ${run.scale}` : run.script} · ${run.endpoint} · ${formatDuration(data.state.testRunDurationMs)}`,
    ...run.settings.map((line) => `  ${line}`),
    '',
    ...table(
      ['scenario', 'requests', 'failed', 'checks', 'p50', 'p95', 'p99', 'max'],
      [...run.scenarios.map((scenario) => scenarioRow(data, scenario)), scenarioRow(data, undefined)],
    ),
    '',
    'checks',
    ...checks(data.root_group).map(
      (check) =>
        `  ${check.fails === 0 ? '✓' : '✗'} ${check.name}${check.fails === 0 ? '' : `  (${check.fails} of ${check.passes + check.fails} failed)`}`,
    ),
    '',
    'thresholds',
    ...thresholds.map(
      (threshold) => `  ${threshold.ok ? '✓' : '✗'} ${threshold.metric} ${threshold.expression}  (${threshold.actual})`,
    ),
    '',
    breached.length === 0
      ? `PASSED: all ${thresholds.length} thresholds met`
      : `FAILED: ${breached.length} of ${thresholds.length} thresholds breached: ${breached.map((t) => `${t.metric} ${t.expression}`).join('; ')}`,
  ];
  return lines.join('\n');
}

/** One row: requests, failed requests, share of checks passed, latency percentiles. */
function scenarioRow(data, scenario) {
  const tagged = (metric) => data.metrics[scenario ? `${metric}{scenario:${scenario}}` : metric];
  const duration = tagged('http_req_duration');
  const failed = tagged('http_req_failed');
  const checkRate = tagged('checks');
  if (!duration) return [scenario ?? 'all', '0', '', '', '', '', '', ''];
  const values = duration.values;
  return [
    scenario ?? 'all',
    String(values.count ?? data.metrics.http_reqs?.values.count ?? ''),
    failed ? String(failed.values.passes) : '',
    checkRate ? `${(checkRate.values.rate * 100).toFixed(2)} %` : '',
    formatMs(values.med),
    formatMs(values['p(95)']),
    formatMs(values['p(99)']),
    formatMs(values.max),
  ];
}

function checks(group) {
  return [...group.checks, ...group.groups.flatMap(checks)];
}

/** Each threshold, whether it held, and the value it was judged on; in metric-name order. */
function thresholdResults(data) {
  const metrics = Object.entries(data.metrics).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return metrics.flatMap(([metric, { values, thresholds }]) =>
    Object.entries(thresholds ?? {}).map(([expression, { ok }]) => {
      const aggregation = expression.split(/\s*[<>=!]/)[0].trim();
      const value = values[aggregation];
      const actual =
        value === undefined
          ? 'no data'
          : aggregation === 'rate'
            ? `${aggregation} ${(value * 100).toFixed(2)} %`
            : `${aggregation} ${formatNumber(metric, value)}`;
      return { metric, expression, ok, actual };
    }),
  );
}

function formatNumber(metric, value) {
  return metric.startsWith('http_req_duration') || metric.startsWith('iteration_duration')
    ? formatMs(value)
    : String(value);
}

function formatMs(ms) {
  if (ms === undefined) return '';
  if (ms >= 10000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${ms.toFixed(ms >= 100 ? 0 : 1)} ms`;
}

function formatDuration(ms) {
  const totalSeconds = Math.round(ms / 1000);
  const minutes = Math.floor(totalSeconds / 60);
  return minutes > 0 ? `${minutes}m${String(totalSeconds % 60).padStart(2, '0')}s` : `${totalSeconds}s`;
}

/** Columns padded to their widest cell: the first left-aligned, the rest right-aligned. */
function table(header, rows) {
  const widths = header.map((_, column) => Math.max(...[header, ...rows].map((row) => row[column].length)));
  const line = (row) =>
    `  ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ')}`;
  return [line(header), ...rows.map(line)];
}
