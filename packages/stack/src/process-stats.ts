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
  const table = readProcessTable();
  if (!table?.some((process) => process.pid === rootPid)) return undefined;
  return descendantsOf(rootPid, table).reduce(
    (sum, process) => sum + process.cpuSeconds + process.reapedChildrenCpuSeconds,
    0,
  );
}

/** One line of the process table, from /proc/<pid>/stat. */
export interface ProcessStat {
  pid: number;
  ppid: number;
  /** The command name (`comm`, at most 15 characters): `node`, `k6`, `postgres`… */
  command: string;
  /** CPU seconds it has used so far, user + system, all threads. */
  cpuSeconds: number;
  /** CPU seconds of its children that exited and were reaped (cutime + cstime). */
  reapedChildrenCpuSeconds: number;
}

/** Every process on the machine; undefined where there is no /proc. */
export function readProcessTable(): ProcessStat[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  return entries.flatMap((entry) => {
    const pid = Number(entry);
    const stat = Number.isInteger(pid) ? readProcFile(`/proc/${pid}/stat`) : undefined;
    if (!stat) return [];
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime: fields 14 to 17 of the line.
    return [
      {
        pid,
        ppid: Number(fields[1]),
        command: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
        cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND,
        reapedChildrenCpuSeconds: (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND,
      },
    ];
  });
}

/** The process `rootPid` and all its descendants, from a process table. */
export function descendantsOf(rootPid: number, table: ProcessStat[]): ProcessStat[] {
  const children = new Map<number, ProcessStat[]>();
  for (const process of table) children.set(process.ppid, [...(children.get(process.ppid) ?? []), process]);
  const found = table.filter((process) => process.pid === rootPid);
  for (let index = 0; index < found.length; index += 1) found.push(...(children.get(found[index]!.pid) ?? []));
  return found;
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
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks;
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
