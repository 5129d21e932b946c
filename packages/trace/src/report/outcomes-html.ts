/** bottlenecks.html's "What the run did": the checks, the requests by route and status, the todos before and after. */
import { escapeHtml, formatMs as ms } from './format.js';
import { clock, requestName } from './functional-verdict.js';
import { table } from './html.js';
import { isFailure, type Outcomes } from './outcomes.js';

/** Rows of the requests table: the failures all, then the busiest of the rest. */
const REQUEST_ROWS = 30;

export function outcomesSection(outcomes: Outcomes): string {
  const { checks, requests, todos } = outcomes;
  const shown = [...requests.filter(isFailure), ...requests.filter((group) => !isFailure(group))].slice(
    0,
    Math.max(REQUEST_ROWS, requests.filter(isFailure).length),
  );
  const parts = [
    `<section id="outcomes"><h2>What the run did</h2>`,
    checks === undefined
      ? '<p class="missing">No k6 summary: the checks are unknown.</p>'
      : checks.length === 0
        ? '<p>The script has no checks.</p>'
        : table(
            ['check', 'passed', 'failed', 'pass rate'],
            [...checks]
              .sort((a, b) => a.passRate - b.passRate)
              .map((check) => [
                `${check.fails > 0 ? '✗' : '✓'} ${check.name}`,
                count(check.passes),
                count(check.fails),
                `${(check.passRate * 100).toFixed(check.passRate === 1 ? 0 : 1)} %`,
              ]),
          ),
    requests.length === 0
      ? '<p class="missing">No request lines of the services: their logs were not read (a run against ENDPOINT keeps them in CloudWatch).</p>'
      : `<p>Requests by method, route and status, from the canonical <code>request finished</code> lines (the edge's for the answers it gave itself). A path that matched no route, or whose id was not a number, is shown as it was sent. Follow one with <code>pnpm trace &lt;request id&gt;</code>.</p>
${table(
  [
    'request',
    'status',
    'answered by',
    'count',
    'p50',
    'max',
    'error code',
    'cause',
    'first – last',
    'example request id',
  ],
  shown.map((group) => [
    `${requestName(group)}${group.asSent ? ' (as sent)' : ''}`,
    String(group.status),
    group.answeredBy,
    count(group.count),
    ms(group.medianMs),
    ms(group.maxMs),
    group.errorCode ?? (group.shed ? `shed: ${group.shed}` : ''),
    group.errorCause ?? '',
    `${clock(group.firstAtMs)} – ${clock(group.lastAtMs)}`,
    group.exampleRequestId ?? '',
  ]),
)}${requests.length > shown.length ? `<p>… and ${requests.length - shown.length} more groups (bottlenecks.json has them all).</p>` : ''}`,
    todos === undefined
      ? '<p class="missing">The todos were not counted before and after this run.</p>'
      : `<p>Todos: ${todos.before ?? '?'} before the run, ${todos.after ?? '?'} after (counted through GET /api/v1/todos).</p>`,
    '</section>',
  ];
  return parts.join('\n');
}

function count(value: number): string {
  return escapeHtml(value.toLocaleString('en-US'));
}
