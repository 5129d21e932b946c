/** How the report writes figures and text, on its page and in the verdict's sentences. */
import type { Figures } from './figure-types.js';

/** Milliseconds, or seconds from one second up; `—` for a figure nobody measured. */
export function formatMs(value: number | undefined): string {
  if (value === undefined) return '—';
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value >= 10 ? Math.round(value) : value.toFixed(1)} ms`;
}

/** Seconds as m:ss. */
export function formatClock(seconds: number): string {
  return `${Math.floor(seconds / 60)}:${String(Math.round(seconds % 60)).padStart(2, '0')}`;
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A run in one line: `stress · full scale · http://127.0.0.1:8080 · edge: HAProxy 2.6.12`. */
export function runTitle(run: Figures['run']): string {
  return [run.name, run.scale && `${run.scale} scale`, run.endpoint, run.balancer && `edge: ${run.balancer}`]
    .filter(Boolean)
    .join(' · ');
}
