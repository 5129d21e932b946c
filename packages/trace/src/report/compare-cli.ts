/**
 * `--compare A B [--out DIR]`, the same in `pnpm loadtest` and `pnpm trace`: reads both runs,
 * prints them side by side and writes compare.html and compare.json (into B's directory, the
 * run after the change, unless --out says otherwise).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { RUN_NOT_FOUND_CODE } from '../errors.js';
import { renderTable, type Column } from '../render/table.js';
import { styleFor, type Style } from '../render/style.js';
import {
  COMPARISON_SECTIONS,
  compareRuns,
  formatFigure,
  formatRatio,
  formatTally,
  formatWinner,
  readComparedRun,
  type Comparison,
  type ComparisonLine,
} from './compare.js';
import { renderComparisonHtml } from './compare-html.js';
import { REPORT_FILES, verdictLines } from './index.js';
import { runDirectoryOf } from './inputs.js';

export const COMPARE_FILES = { html: 'compare.html', json: 'compare.json' } as const;

/** The option as each command's --help lists it, its description from column `column`. */
export function compareUsage(column: number): string {
  const [first, ...rest] = [
    "two recorded runs side by side, B the one after a change: k6's",
    "p95/p99, the edge's and the services', req/s, failed requests and",
    'checks, CPU per request and peak memory per process, cache outcomes,',
    "each run's verdict; per line the ratio B ÷ A and the better run.",
    'A and B are run directories under loadtests/results. Writes',
    "compare.html and compare.json into B's directory (or --out DIR)",
  ];
  return ['  --compare A B'.padEnd(column) + first, ...rest.map((line) => ' '.repeat(column) + line)].join('\n');
}

const DEFAULT_WIDTH = 120;

export interface CompareContext {
  /** `pnpm loadtest` or `pnpm trace`, for messages. */
  command: string;
  env: NodeJS.ProcessEnv;
  stdout: { isTTY?: boolean; columns?: number; write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** Whether the command line asks for a comparison (so that a CLI hands it over before its own parsing). */
export function isCompareCommand(argv: string[]): boolean {
  // After `--` the flags are k6's (pnpm loadtest my-test.js -- …).
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => arg === '--compare' || arg.startsWith('--compare='));
}

/** Runs `--compare A B [--out DIR]`; the exit status: 0 written, 1 a run missing, 2 bad usage. */
export async function runCompareCommand(argv: string[], context: CompareContext): Promise<number> {
  const userDir = context.env.INIT_CWD ?? process.cwd();
  let dirs: { a: string; b: string; out: string | undefined };
  try {
    dirs = readCompareArgs(argv, userDir);
  } catch (error) {
    context.stderr.write(
      `✗ ${context.command}: ${(error as Error).message}\n(${context.command} --help lists the options)\n`,
    );
    return 2;
  }
  let comparison: Comparison;
  try {
    comparison = compareRuns(await readComparedRun(dirs.a), await readComparedRun(dirs.b));
  } catch (error) {
    if ((error as { code?: unknown }).code !== RUN_NOT_FOUND_CODE) throw error;
    context.stderr.write(`✗ ${context.command}: ${(error as Error).message}\n`);
    return 1;
  }
  const outDir = dirs.out ?? dirs.b;
  await mkdir(outDir, { recursive: true });
  const files = { html: join(outDir, COMPARE_FILES.html), json: join(outDir, COMPARE_FILES.json) };
  await writeFile(files.html, renderComparisonHtml(comparison));
  await writeFile(files.json, `${JSON.stringify(comparison, null, 2)}\n`);
  const style = styleFor(context.stdout, context.env);
  const width =
    context.stdout.isTTY && context.stdout.columns
      ? context.stdout.columns
      : Number(context.env.COLUMNS) || DEFAULT_WIDTH;
  const shown = (path: string) => {
    const fromUser = relative(userDir, path);
    return fromUser.startsWith('..') || isAbsolute(fromUser) ? path : fromUser;
  };
  context.stdout.write(
    `${[...comparisonLines(comparison, width, style), '', `  page  ${shown(files.html)} (and ${COMPARE_FILES.json})`].join('\n')}\n`,
  );
  return 0;
}

/** `2026-11-28T14-05-12-`: how pnpm loadtest starts a run directory's name (the rest names the test). */
const RUN_TIME_PREFIX = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-/;

/**
 * The latest run of the same test before `runDir` beside it (the same name after the time:
 * scenario and scale, or script) that got as far as its report, to compare it with; undefined
 * when there is none. A run that stopped before k6 (the stack did not start) has no report.
 */
export async function previousRunOf(runDir: string): Promise<string | undefined> {
  const name = basename(runDir);
  const time = RUN_TIME_PREFIX.exec(name)?.[0];
  if (!time) return undefined;
  const test = name.slice(time.length);
  const earlier = (await readdir(dirname(runDir), { withFileTypes: true }))
    .filter(
      (entry) =>
        entry.isDirectory() && entry.name < name && RUN_TIME_PREFIX.exec(entry.name)?.[0].length === time.length,
    )
    .map((entry) => entry.name)
    .filter(
      (candidate) =>
        candidate.slice(time.length) === test && existsSync(join(dirname(runDir), candidate, REPORT_FILES.json)),
    )
    .sort();
  const previous = earlier[earlier.length - 1];
  return previous === undefined ? undefined : join(dirname(runDir), previous);
}

function readCompareArgs(argv: string[], userDir: string): { a: string; b: string; out: string | undefined } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { compare: { type: 'string' }, out: { type: 'string' } },
    });
  } catch (error) {
    throw new Error(`${(error as Error).message}; --compare takes two run directories, and --out DIR only`);
  }
  const { values, positionals } = parsed;
  if (values.compare === undefined || positionals.length !== 1) {
    throw new Error(
      `--compare takes two run directories, the one before a change and the one after: --compare A B (got ${[values.compare, ...positionals].filter(Boolean).length})`,
    );
  }
  const runDir = (path: string) => runDirectoryOf(resolve(userDir, path));
  return {
    a: runDir(values.compare),
    b: runDir(positionals[0]!),
    out: values.out === undefined ? undefined : resolve(userDir, values.out),
  };
}

type Row = { kind: 'section'; title: string } | { kind: 'line'; line: ComparisonLine };

/** Both runs and their verdicts' headlines, the table of figures, the tally and the notes. */
export function comparisonLines(comparison: Comparison, width: number, style: Style): string[] {
  const { a, b } = comparison;
  const runLine = (label: string, run: Comparison['a']) => [
    `${style.bold(label)}  ${run.name}${run.title ? `  (${run.title})` : ''}`,
    // The verdict's headline lines as the report prints them, without its findings' sentences.
    ...verdictLines(run.verdict)
      .filter((line) => !line.startsWith('  •'))
      .map((line) => `   ${line}`),
    ...(run.verdict.findings.length > 0
      ? [style.dim(`   findings: ${unique(run.verdict.findings.map((finding) => finding.rule)).join(', ')}`)]
      : []),
  ];
  const rows: Row[] = COMPARISON_SECTIONS.flatMap((section) => {
    const lines = comparison.lines.filter((line) => line.section === section);
    return lines.length === 0
      ? []
      : [{ kind: 'section' as const, title: section }, ...lines.map((line) => ({ kind: 'line' as const, line }))];
  });
  const figure = (side: 'a' | 'b') => (row: Row) =>
    row.kind === 'line' ? formatFigure(row.line.unit, row.line[side]) : '';
  const columns: Column<Row>[] = [
    {
      header: 'figure',
      align: 'left',
      shrinks: true,
      cell: (row) => (row.kind === 'section' ? row.title : `  ${row.line.name}`),
      paint: (text, row) => (row.kind === 'section' ? style.bold(text) : text),
    },
    { header: 'A', align: 'right', cell: figure('a') },
    { header: 'B', align: 'right', cell: figure('b') },
    { header: 'B ÷ A', align: 'right', cell: (row) => (row.kind === 'line' ? formatRatio(row.line.ratio) : '') },
    {
      header: 'better',
      align: 'left',
      cell: (row) => (row.kind === 'line' ? formatWinner(row.line) : ''),
      paint: (text, row) =>
        row.kind !== 'line'
          ? text
          : row.line.winner === 'B'
            ? style.green(text)
            : row.line.winner === 'A'
              ? style.red(text)
              : style.dim(text),
    },
  ];
  return [
    ...runLine('A', a),
    ...runLine('B', b),
    '',
    ...renderTable(columns, rows, width, style),
    '',
    formatTally(comparison),
    ...comparison.notes.map((note) => style.yellow(`  ! ${note}`)),
  ];
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}
