/**
 * The bottleneck report of a load-test run: bottlenecks.json (the figures and the verdict) and
 * bottlenecks.html in its results directory. One module for `pnpm loadtest` (after each run)
 * and `pnpm trace --report <run or logs dir>` (again, on saved files).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LogEntry } from '../log-entry.js';
import { renderTimeline } from '../render/timeline.js';
import { styleFor } from '../render/style.js';
import { buildTimeline } from '../timeline.js';
import type { Figures } from './figure-types.js';
import { collectFigures } from './figures.js';
import { renderHtml } from './html.js';
import { readReportInputs, type ReportInputOverrides } from './inputs.js';
import { collectOutcomes, type Outcomes } from './outcomes.js';
import { verdictOf, type Verdict } from './verdict.js';

export { readDashboardSeries, vusWhereP95Crosses, type PeriodPoint } from './dashboard-data.js';
export {
  logDirectorySource,
  REPORT_INPUT_FILES,
  runDirectoryOf,
  type LogSource,
  type ProcessSample,
  type ProcessSamples,
  type ReportInputOverrides,
  type TodoCounts,
} from './inputs.js';
export { renderLatencyPlot, type PlotOptions } from './latency-plot.js';
export { compareRuns, readComparedRun, type ComparedRun, type Comparison, type ComparisonLine } from './compare.js';
export { COMPARE_FILES, compareUsage, isCompareCommand, previousRunOf, runCompareCommand } from './compare-cli.js';
export { renderComparisonHtml } from './compare-html.js';
export { percentile } from '../endpoint-stats.js';
export { p95TargetOf } from './k6-figures.js';
export { CEILING_EDGE_PROCESS, isCeilingProcess, RUNNER_PROCESS, stackTotal } from './process-figures.js';
export { LOADTEST_REQUEST_ID_PREFIX, type Outcomes, type RequestGroup } from './outcomes.js';

export const REPORT_FILES = { html: 'bottlenecks.html', json: 'bottlenecks.json' } as const;

/** Columns of a waterfall on the page. */
const WATERFALL_WIDTH = 110;

export interface BottleneckReport {
  figures: Figures;
  /** What the run did: checks, requests by route and status, failures' causes, the todos before and after. */
  outcomes: Outcomes;
  verdict: Verdict;
  files: { html: string; json: string };
}

/** @param overrides parts read from elsewhere than the run directory (the logs from CloudWatch Logs). */
export async function writeBottleneckReport(
  runDir: string,
  overrides: ReportInputOverrides = {},
): Promise<BottleneckReport> {
  const inputs = await readReportInputs(runDir, overrides);
  const plain = styleFor({}, {});
  const waterfall = (entries: LogEntry[], requestId: string): string[] =>
    renderTimeline(buildTimeline(requestId, entries), WATERFALL_WIDTH, plain);
  const figures = await collectFigures(inputs, waterfall);
  const outcomes = await collectOutcomes(inputs);
  const verdict = verdictOf(figures, outcomes);
  const files = { html: join(runDir, REPORT_FILES.html), json: join(runDir, REPORT_FILES.json) };
  await writeFile(files.json, `${JSON.stringify({ verdict, outcomes, figures }, null, 2)}\n`);
  await writeFile(files.html, renderHtml(figures, verdict, inputs.latencySvg, outcomes));
  return { figures, outcomes, verdict, files };
}

/** The verdict as terminal lines. */
export function verdictLines(verdict: Verdict): string[] {
  const bottleneck = `Bottleneck: ${verdict.saturated ? `${verdict.saturated} saturated` : 'nothing saturated'}`;
  return [
    verdict.headline,
    // A headline about failures leaves saturation to a line of its own.
    ...(verdict.headline.startsWith('Bottleneck:') || verdict.headline.startsWith('Healthy:') ? [] : [bottleneck]),
    ...verdict.findings.map((finding) => `  • ${finding.sentence}`),
  ];
}
