import type { Style } from './style.js';
import { truncate } from './text.js';

export interface Column<Row> {
  header: string;
  /** Numbers align right; text left. */
  align: 'left' | 'right';
  cell: (row: Row) => string;
  /** Colors a cell after it is padded, so that escape codes never upset the alignment. */
  paint?: (text: string, row: Row) => string;
  /** This column gives up width, its cells cut short, to keep the table within the terminal. */
  shrinks?: boolean;
}

const GAP = '  ';
/** A shrinking column keeps at least this many characters, however narrow the terminal. */
const MIN_SHRUNK_WIDTH = 16;

/** Rows under a header, each column as wide as its widest cell, within `width` if it can. */
export function renderTable<Row>(columns: Column<Row>[], rows: Row[], width: number, style: Style): string[] {
  const cells = rows.map((row) => columns.map((column) => column.cell(row)));
  const widths = columns.map((column, index) =>
    Math.max(column.header.length, ...cells.map((row) => row[index]!.length)),
  );
  const excess = widths.reduce((sum, columnWidth) => sum + columnWidth, GAP.length * (columns.length - 1)) - width;
  const shrinking = columns.findIndex((column) => column.shrinks);
  if (excess > 0 && shrinking !== -1) {
    widths[shrinking] = Math.max(columns[shrinking]!.header.length, MIN_SHRUNK_WIDTH, widths[shrinking]! - excess);
  }
  const pad = (text: string, index: number): string => {
    const fitted = truncate(text, widths[index]!);
    return columns[index]!.align === 'right' ? fitted.padStart(widths[index]!) : fitted.padEnd(widths[index]!);
  };
  const header = columns
    .map((column, index) => pad(column.header, index))
    .join(GAP)
    .trimEnd();
  const body = cells.map((row, rowIndex) =>
    row
      .map((text, index) => {
        const padded = pad(text, index);
        const paint = columns[index]!.paint;
        return paint ? paint(padded, rows[rowIndex]!) : padded;
      })
      .join(GAP)
      .trimEnd(),
  );
  return [style.bold(header), ...body];
}
