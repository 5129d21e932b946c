/**
 * CPU time and memory of processes and of the machine, from Linux's /proc. Elsewhere every
 * reading is undefined and the report says n/a.
 */
import { readdirSync, readFileSync } from 'node:fs';

/**
 * The unit of CPU times in /proc (USER_HZ). The kernel fixes it at 100 for user space on
 * every architecture Node runs on, whatever the kernel's own tick rate.
 */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system, all threads) the process has used so far. */
export function readCpuSeconds(pid: number): number | undefined {
  const fields = readStatFields(pid);
  if (!fields) return undefined;
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks / TICKS_PER_SECOND : undefined;
}

export function readParentPid(pid: number): number | undefined {
  const ppid = Number(readStatFields(pid)?.[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

/**
 * CPU seconds of a process and of all its descendants, those still running and those that
 * exited (their time is added to their parent's cutime and cstime when it reaps them): a
 * server made of processes, such as PostgreSQL's postmaster and its backends.
 */
export function readProcessTreeCpuSeconds(rootPid: number): number | undefined {
  const children = new Map<number, number[]>();
  const totals = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const fields = readStatFields(pid);
    if (!fields) continue;
    // utime, stime, cutime, cstime: fields 14 to 17 of the line.
    totals.set(pid, Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]));
    const ppid = Number(fields[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  if (!totals.has(rootPid)) return undefined;
  let ticks = 0;
  const pending = [rootPid];
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    ticks += totals.get(pid) ?? 0;
    pending.push(...(children.get(pid) ?? []));
  }
  return ticks / TICKS_PER_SECOND;
}

/**
 * The fields of /proc/<pid>/stat after the command name, which is in parentheses and may
 * itself contain spaces: the line's field N is element N - 3 (state is 0, ppid 1, utime 11).
 */
function readStatFields(pid: number): string[] | undefined {
  const stat = readProcFile(`/proc/${pid}/stat`);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** The process's resident memory now (VmRSS), in bytes. */
export function readRssBytes(pid: number): number | undefined {
  const kilobytes = readProcFile(`/proc/${pid}/status`)?.match(/^VmRSS:\s+(\d+) kB$/m)?.[1];
  return kilobytes === undefined ? undefined : Number(kilobytes) * 1024;
}

/**
 * CPU seconds the machine has spent on anything but idling so far, summed over every core and
 * every process (the first line of /proc/stat).
 */
export function readMachineBusySeconds(): number | undefined {
  const line = readProcFile('/proc/stat')?.split('\n', 1)[0];
  if (!line?.startsWith('cpu ')) return undefined;
  // user nice system idle iowait irq softirq steal …; guest time is already counted in user.
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (ticks.length < 8 || ticks.some((value) => !Number.isFinite(value))) return undefined;
  const [user, nice, system, , , irq, softirq, steal] = ticks as [number, number, number, number, number, number, number, number];
  return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND;
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The highest resident memory of a process, read every `intervalMs` until stop(). */
export class PeakRssSampler {
  #peakBytes: number | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 200,
  ) {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  /** Stops sampling; the peak seen, in bytes. */
  stop(): number | undefined {
    clearInterval(this.#timer);
    this.#sample();
    return this.#peakBytes;
  }

  #sample(): void {
    const bytes = readRssBytes(this.pid);
    if (bytes !== undefined && (this.#peakBytes === undefined || bytes > this.#peakBytes)) this.#peakBytes = bytes;
  }
}

function readProcFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
