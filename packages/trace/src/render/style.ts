/**
 * Colors for text output; all of them leave text as it is when color is off. Plain functions
 * (no `this`), so one can be handed on as it is: `paint: style.bold`.
 */
export interface Style {
  bold: (text: string) => string;
  dim: (text: string) => string;
  red: (text: string) => string;
  yellow: (text: string) => string;
  green: (text: string) => string;
  cyan: (text: string) => string;
}

const ansi = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`;

const COLORED: Style = {
  bold: ansi(1, 22),
  dim: ansi(2, 22),
  red: ansi(31, 39),
  yellow: ansi(33, 39),
  green: ansi(32, 39),
  cyan: ansi(36, 39),
};

const asIs = (text: string) => text;
const PLAIN: Style = { bold: asIs, dim: asIs, red: asIs, yellow: asIs, green: asIs, cyan: asIs };

/** Color for a terminal only, and never when NO_COLOR is set (https://no-color.org). */
export function styleFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): Style {
  return stream.isTTY && !env.NO_COLOR ? COLORED : PLAIN;
}

/** A status colored by class: 5xx red, 4xx yellow, the rest green. */
export function paintStatus(style: Style, status: number | undefined, text: string): string {
  if (status === undefined) return text;
  if (status >= 500) return style.red(text);
  if (status >= 400) return style.yellow(text);
  return style.green(text);
}
