import { spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { SERVICE_NODE_OPTIONS, SERVICES } from '@taskoverflow/routing';
import { spawnDetachedChild } from './detached-child.js';
import { ServiceStartError } from './errors.js';
import { repoRoot, serviceEntry } from './paths.js';

export interface ServiceProcessOptions {
  /** Names the process in errors, e.g. `todo-read-2`. */
  instance: string;
  /**
   * The entry file. JavaScript runs under plain Node, as in a container; TypeScript (`.ts`)
   * through tsx, with workspace packages resolved to their src/.
   */
  entry: string;
  /**
   * Added to this process's environment. A service's entry (serviceEntry) also gets the
   * services' SERVICE_NODE_OPTIONS, before any NODE_OPTIONS of ours or of `env`, which win.
   */
  env: Record<string, string>;
  /** Answers 200 once the process is ready for traffic. */
  healthUrl: string;
  /** Receives every line the process prints, stdout and stderr. */
  onLine: (line: string) => void;
  readyTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before it sends SIGKILL. */
  stopGraceMs?: number;
}

export interface ServiceProcess {
  readonly instance: string;
  /** The operating system's process id, e.g. to read its memory use from /proc. */
  readonly pid: number;
  /** SIGTERM, then SIGKILL after the grace period; resolves once the process has exited. */
  stop(): Promise<void>;
}

/** Node's arguments that run a TypeScript entry from source. */
const TSX_ARGUMENTS = ['--import', 'tsx', '--conditions=development'];
/** How long a started process may take to become ready (a service's health check, the edge's address). */
export const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
const HEALTH_POLL_MS = 100;
/** Output lines quoted when a process fails to become ready. */
const OUTPUT_TAIL_LINES = 20;

/** Starts `entry` as a child process and resolves once its health URL answers 200. */
export async function startServiceProcess(options: ServiceProcessOptions): Promise<ServiceProcess> {
  // Should this process die without stopping it, it dies with it.
  const child = spawnDetachedChild(
    process.execPath,
    [...(options.entry.endsWith('.ts') ? TSX_ARGUMENTS : []), options.entry],
    {
      cwd: repoRoot,
      env: { ...process.env, ...options.env, ...nodeOptionsOf(options) },
      stdio: ['ignore', 'pipe', 'pipe'],
      orphanSignal: 'SIGKILL',
    },
  );
  // 'close' rather than 'exit': by then every line it printed has been passed on.
  const exited = new Promise<string>((resolve) => {
    child.once('close', (code, signal) => resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`));
  });

  const recentOutput: string[] = [];
  const takeLine = (line: string): void => {
    recentOutput.push(line);
    if (recentOutput.length > OUTPUT_TAIL_LINES) recentOutput.shift();
    options.onLine(line);
  };
  child.on('error', (error) => takeLine(`could not run ${options.entry}: ${error.message}`));
  createInterface({ input: child.stdout! }).on('line', takeLine);
  createInterface({ input: child.stderr! }).on('line', takeLine);

  let stopping: Promise<void> | undefined;
  const service: ServiceProcess = {
    instance: options.instance,
    pid: child.pid!,
    stop: () => (stopping ??= stopChild(child, exited, options.stopGraceMs)),
  };

  const problem = await waitUntilReady(options.healthUrl, exited, options.readyTimeoutMs ?? READY_TIMEOUT_MS);
  if (problem) {
    await service.stop();
    const output =
      recentOutput.length > 0 ? `; its last output:\n  ${recentOutput.join('\n  ')}` : ' without any output';
    throw new ServiceStartError(options.instance, problem, output);
  }
  return service;
}

/**
 * A service runs with the Node options it has in its container; an explicit NODE_OPTIONS
 * (the caller's environment, or `env`) comes after them, so a V8 flag in it wins (the last of
 * a flag counts), e.g. `NODE_OPTIONS=--max-semi-space-size=64` to measure without the limit.
 * Other entries (the bench's ceiling server) run with Node's defaults.
 */
function nodeOptionsOf(options: ServiceProcessOptions): { NODE_OPTIONS?: string } {
  if (!SERVICES.some((service) => serviceEntry(service) === options.entry)) return {};
  const explicit = options.env.NODE_OPTIONS ?? process.env.NODE_OPTIONS;
  return { NODE_OPTIONS: explicit ? `${SERVICE_NODE_OPTIONS} ${explicit}` : SERVICE_NODE_OPTIONS };
}

/** The path of `command` on PATH, or undefined. */
export function findOnPath(command: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** Polls the health URL; resolves with what went wrong, or undefined once it answered 200. */
async function waitUntilReady(
  healthUrl: string,
  exited: Promise<string>,
  timeoutMs: number,
): Promise<string | undefined> {
  let exit: string | undefined;
  void exited.then((description) => (exit = description));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await answersOk(healthUrl)) return undefined;
    if (exit) return `${exit} before it was ready`;
    await sleep(HEALTH_POLL_MS);
  }
  return `did not answer GET ${healthUrl} with 200 within ${timeoutMs / 1000} s`;
}

async function answersOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

/**
 * `signal` (SIGTERM; HAProxy's graceful stop is SIGUSR1), then SIGKILL after `graceMs`; resolves
 * once `exited` (a promise of the child's 'close') has. A child that has exited already ignores
 * the signals.
 */
export async function stopChild(
  child: ChildProcess,
  exited: Promise<unknown>,
  graceMs = STOP_GRACE_MS,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  child.kill(signal);
  const killTimer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(killTimer);
}
