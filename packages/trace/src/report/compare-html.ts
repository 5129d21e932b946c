/** compare.html: two runs' verdicts side by side, then every compared figure with its ratio and the better run. */
import {
  COMPARISON_SECTIONS,
  formatFigure,
  formatRatio,
  formatTally,
  formatWinner,
  type Comparison,
  type ComparedRunHeadline,
} from './compare.js';
import { escapeHtml } from './format.js';
import { verdictLines } from './index.js';

const STYLE = `body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#111827}
table{border-collapse:collapse;margin:.5em 0 1.5em;width:100%}th,td{padding:.25em .7em;border-bottom:1px solid #e5e7eb;text-align:right}
th:first-child,td:first-child{text-align:left}tr.section th{text-align:left;background:#f3f4f6;padding-top:.6em}
td.better{font-weight:600}td.winner-B{color:#047857}td.winner-A{color:#b91c1c}td.winner-same{color:#6b7280}
.runs{display:grid;grid-template-columns:1fr 1fr;gap:1.5em}.run h3{margin:.2em 0}.run p.dir{color:#6b7280;font-size:.85em;word-break:break-all}
ul.verdict li{margin:.3em 0}.notes{color:#b45309}`;

export function renderComparisonHtml(comparison: Comparison): string {
  const { a, b } = comparison;
  const rows = COMPARISON_SECTIONS.flatMap((section) => {
    const lines = comparison.lines.filter((line) => line.section === section);
    if (lines.length === 0) return [];
    return [
      `<tr class="section"><th colspan="5">${escapeHtml(section)}</th></tr>`,
      ...lines.map((line) => {
        const cell = (side: 'A' | 'B', value: number | undefined) =>
          `<td${line.winner === side ? ' class="better"' : ''}>${escapeHtml(formatFigure(line.unit, value))}</td>`;
        return (
          `<tr><td>${escapeHtml(line.name)}${line.better === 'neither' ? '' : ` <small>(${line.better} is better)</small>`}</td>` +
          `${cell('A', line.a)}${cell('B', line.b)}<td>${escapeHtml(formatRatio(line.ratio))}</td>` +
          `<td class="winner-${line.winner ?? 'none'}">${escapeHtml(formatWinner(line))}</td></tr>`
        );
      }),
    ];
  });
  const sections = [
    `<h1>Before and after: A against B</h1>`,
    `<p>${escapeHtml(formatTally(comparison))} A ratio is B ÷ A: below 1× B's figure is lower.</p>`,
    comparison.notes.length > 0
      ? `<ul class="notes">${comparison.notes.map((note) => `<li>${escapeHtml(note)}</li>`).join('')}</ul>`
      : '',
    `<section id="verdicts" class="runs">${runColumn('A', a)}${runColumn('B', b)}</section>`,
    `<section id="figures"><h2>Figures</h2><table><thead><tr><th></th><th>A</th><th>B</th><th>B ÷ A</th><th>better</th></tr></thead><tbody>${rows.join('')}</tbody></table>
<p>CPU per request is each process's CPU over the requests k6 sent while it was sampled; peak memory its highest resident set (summed over a server's processes). Cache shares are of todo-read's reads.${
      comparison.lines.some((line) => line.section === 'AWS (CloudWatch)')
        ? " AWS figures are CloudWatch's, over one-minute periods of each run's window; a busiest minute is sustained, not a spike."
        : ''
    }</p></section>`,
  ];
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Compared: ${escapeHtml(a.name)} · ${escapeHtml(b.name)}</title><style>${STYLE}</style></head><body>\n${sections.join('\n')}\n</body></html>\n`;
}

function runColumn(label: 'A' | 'B', run: ComparedRunHeadline): string {
  const { verdict } = run;
  return `<div class="run" id="run-${label}"><h2>${label}: ${escapeHtml(run.name)}</h2><p>${escapeHtml(run.title)}</p><p class="dir">${escapeHtml(run.runDir)}</p>
${verdictLines(verdict)
  .filter((line) => !line.startsWith('  •'))
  .map((line) => `<h3>${escapeHtml(line)}</h3>`)
  .join('')}
<ul class="verdict">${verdict.findings.map((finding) => `<li>${escapeHtml(finding.sentence)}</li>`).join('')}</ul></div>`;
}
