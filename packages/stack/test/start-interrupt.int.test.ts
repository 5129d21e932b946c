/**
 * `pnpm start` stopped as a person stops it: Ctrl-C at a terminal, which signals the whole
 * foreground process group (pnpm, and the runner pnpm started); and the runner killed outright.
 * Linux only: the process tree is read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { repoRoot } from '../src/paths.js';
import { waitUntil } from '../src/testing.js';

/** What each stack process's command line shows, to find it in the tree. */
const STACK_PROCESSES = {
  // HAProxy, installed, is the edge (TASKOVERFLOW_BALANCER=auto).
  edge: '/haproxy.cfg',
  'todo-write': 'services/todo-write/dist/server.js',
  'todo-read': 'services/todo-read/dist/server.js',
  postgres: '/bin/postgres',
  redis: 'redis-server',
};

/** A running `pnpm start` (or its runner), its output so far, and its way out. */
interface Started {
  child: ChildProcess;
  output: () => string;
  /** The edge's URL, once the summary is printed. */
  url: Promise<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  logDir: string;
}

/**
 * Runs `command` from the repository in a process group of its own, as a terminal runs a
 * foreground job, with its own log and PostgreSQL data directories (made 0755: as root,
 * PostgreSQL runs as `postgres` and must enter them).
 */
async function startInGroup(t: Test, command: string, args: string[]): Promise<Started> {
  const dir = await mkdtemp(join(tmpdir(), 'taskoverflow-start-interrupt-'));
  await chmod(dir, 0o755);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const logDir = join(dir, 'logs');
  const stackArgs = ['--port', '0', '--read-replicas', '1', '--logs', logDir, '--data', join(dir, 'data')];
  const child = spawn(command, [...args, ...stackArgs], {
    cwd: repoRoot,
    detached: true,
    env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', PORT: '', LOG_LEVEL: 'info' },
  });
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    const collect = (chunk: Buffer): void => {
      output += chunk.toString();
      const running = /TaskOverflow is running at (http:\/\/\S+)/.exec(output)?.[1];
      if (running) resolve(running);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('exit', () => reject(new Error(`it exited before it was running:\n${output}`)));
  });
  const exit = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return { child, output: () => output, url, exit, logDir };
}

/** The processes under `root` (Linux: /proc), by pid, with their command lines. */
async function descendants(root: number): Promise<Map<number, string>> {
  const parents = new Map<number, number>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (stat) parents.set(Number(name), ppid);
  }
  const found = new Map<number, string>();
  const visit = async (parent: number): Promise<void> => {
    for (const [pid, ppid] of parents) {
      if (ppid !== parent) continue;
      found.set(pid, (await commandLine(pid)) ?? '');
      await visit(pid);
    }
  };
  await visit(root);
  return found;
}

/** A live process's command line; undefined once it has gone (a zombie's is empty). */
async function commandLine(pid: number): Promise<string | undefined> {
  const line = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return line ? line.replaceAll('\0', ' ') : undefined;
}

/** Resolves once none of `processes` is alive; fails naming those left. */
async function allGone(processes: Map<number, string>): Promise<void> {
  let left: string[] = [];
  await waitUntil(
    'the stack processes to exit',
    async () => {
      left = [];
      for (const pid of processes.keys()) {
        const line = await commandLine(pid);
        if (line) left.push(`${pid} ${line}`);
      }
      return left.length === 0 ? true : undefined;
    },
    20_000,
  ).catch((error: Error) => Promise.reject(new Error(`${error.message}; left:\n  ${left.join('\n  ')}`)));
}

/** The tree under `child` while the stack runs, checked to hold every stack process; all killed at the test's end. */
async function stackProcesses(t: Test, child: ChildProcess): Promise<Map<number, string>> {
  const processes = await descendants(child.pid!);
  // Whatever the test's outcome, nothing it started outlives it.
  t.teardown(() => {
    for (const pid of processes.keys()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  });
  const commandLines = [...processes.values()];
  for (const [name, shows] of Object.entries(STACK_PROCESSES)) {
    t.ok(
      commandLines.some((line) => line.includes(shows)),
      `${name} runs under it`,
    );
  }
  return processes;
}

/** A write and two reads through the edge: the services' pools then hold idle PostgreSQL connections. */
async function useTheApi(t: Test, url: string): Promise<void> {
  const created = await fetch(`${url}/api/v1/todos`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'before Ctrl-C' }),
  });
  t.equal(created.status, 201, 'a write through the edge');
  const { id } = (await created.json()) as { id: number };
  for (let read = 0; read < 2; read += 1)
    t.equal((await fetch(`${url}/api/v1/todos/${id}`)).status, 200, 'a read through the edge');
}

t.test(
  'Ctrl-C on pnpm start: one stopping line, no stack trace, exit 0 without ELIFECYCLE, nothing left',
  async (t) => {
    const started = await startInGroup(t, 'pnpm', ['start']);
    const url = await started.url;
    const processes = await stackProcesses(t, started.child);
    await useTheApi(t, url);

    // What a terminal does on Ctrl-C: SIGINT to every process of the foreground group.
    process.kill(-started.child.pid!, 'SIGINT');
    const { code, signal } = await started.exit;
    const output = started.output();
    const afterSignal = output.slice(output.indexOf('TaskOverflow is running'));

    t.same({ code, signal }, { code: 0, signal: null }, 'pnpm exits 0, not by the signal');
    t.equal(afterSignal.match(/stopping…/g)?.length, 1, 'one "stopping…" line');
    // Between the two, the summary may show the last stats lines, written as the instances close.
    t.match(
      afterSignal,
      /\nSIGINT: stopping… \(again to exit at once\)\n(.*\n)*stopped ✓\n$/,
      'at the end, "stopped ✓"',
    );
    t.notMatch(output, /^\s+at /m, 'no stack trace');
    t.notMatch(output, /second SIG/, 'no service was signalled twice');
    t.notMatch(output, /ELIFECYCLE|Command failed/, 'pnpm reports no failure');
    await allGone(processes);

    for (const file of await readdir(started.logDir)) {
      const lines = (await readFile(join(started.logDir, file), 'utf8')).split('\n').filter(Boolean);
      const problems = lines.filter((line) => /"level":"(warn|error|fatal)"/.test(line));
      // PostgreSQL and Redis stop after the services: no connection of theirs is cut under them.
      t.same(problems, [], `${file}: no warning or error while stopping`);
    }
  },
);

t.test('the runner killed outright (SIGKILL) takes the processes it started with it', async (t) => {
  const started = await startInGroup(t, process.execPath, [
    '--import',
    'tsx',
    '--conditions=development',
    'packages/stack/src/cli/start.ts',
  ]);
  await started.url;
  const processes = await stackProcesses(t, started.child);

  started.child.kill('SIGKILL');
  t.same(await started.exit, { code: null, signal: 'SIGKILL' });
  await allGone(processes);
});
