import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReaperMessage } from './orphan-reaper.js';

export interface DetachedChildOptions extends Omit<SpawnOptions, 'detached'> {
  /**
   * How the child is stopped should this process exit or die without stopping it: SIGKILL for
   * what has nothing to save, SIGINT for PostgreSQL (its fast shutdown).
   */
  orphanSignal: NodeJS.Signals;
}

/** This module's sibling orphan-reaper, as source (.ts, from src/) or compiled (.js, from dist/). */
const REAPER_ENTRY = fileURLToPath(
  new URL(`./orphan-reaper${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

/** Children not yet exited, with their orphan signal. */
const running = new Map<ChildProcess, NodeJS.Signals>();
let reaper: ChildProcess | undefined;

process.on('exit', () => {
  for (const [child, signal] of running) child.kill(signal);
});

/**
 * Spawns a child in a process group of its own (`detached`), so that a terminal's Ctrl-C, which
 * goes to the whole foreground group, reaches only this process: it then stops its children
 * in order (the edge, the services, then Redis and PostgreSQL) instead of all of them dying at
 * once, PostgreSQL under the services' open connections. In exchange, nothing kills such a child
 * with its parent: it gets `orphanSignal` when this process exits, and from the orphan reaper
 * (orphan-reaper.ts) should this process die without an exit (SIGKILL, a fatal signal).
 */
export function spawnDetachedChild(
  command: string,
  args: readonly string[],
  options: DetachedChildOptions,
): ChildProcess {
  const { orphanSignal, ...spawnOptions } = options;
  const child = spawn(command, args, { ...spawnOptions, detached: true });
  if (child.pid === undefined) return child; // it failed to spawn: its 'error' event says why
  const { pid } = child;
  running.set(child, orphanSignal);
  tellReaper({ watch: pid, signal: orphanSignal });
  child.once('exit', () => {
    running.delete(child);
    tellReaper({ forget: pid });
  });
  return child;
}

function tellReaper(message: ReaperMessage): void {
  reaper ??= startReaper();
  if (reaper.connected) reaper.send(message);
}

function startReaper(): ChildProcess {
  const started = spawn(process.execPath, [REAPER_ENTRY], {
    // The load test's process sampler names a process by its SERVICE_INSTANCE: without one, a
    // Node process is its main thread's name, `MainThread`.
    env: { ...process.env, SERVICE_INSTANCE: 'orphan-reaper' },
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
  });
  // Neither the reaper nor its channel keeps this process alive.
  started.unref();
  started.channel?.unref();
  started.on('error', () => undefined); // without a reaper, children still get their signal on exit
  return started;
}
