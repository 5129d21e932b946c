/**
 * LOG_FILE, end to end in a child process: every line reaches the file, written through
 * pino's asynchronous destination and flushed when the process exits; stdout carries only
 * warnings, errors and `stats` lines. Without LOG_FILE, everything goes to stdout.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runEntry, waitUntil } from '@taskoverflow/stack/testing';
import t, { type Test } from 'tap';
import { LOG_BATCH_MS } from '../src/logger.js';

const burstEntry = fileURLToPath(new URL('./fixtures/log-burst.ts', import.meta.url));
const waitEntry = fileURLToPath(new URL('./fixtures/log-and-wait.ts', import.meta.url));
/** Enough lines (≈ 2 MB) that the file destination still holds some when the process exits. */
const INFO_LINES = 20_000;

async function runBurst(
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdoutLines: Array<{ msg: string; level: string }> }> {
  const { code, stdout } = await runEntry(burstEntry, [], {
    env: { ...process.env, INFO_LINES: String(INFO_LINES), ...env },
  });
  return { code, stdoutLines: parseLines(stdout) };
}

function parseLines(text: string): Array<{ msg: string; level: string }> {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { msg: string; level: string });
}

t.test('LOG_FILE: every line in the file, flushed on exit; stdout has warnings, errors and stats only', async (t) => {
  const file = join(t.testdir(), 'logs', 'todo-read-1.log');
  const { code, stdoutLines } = await runBurst({ LOG_FILE: file });
  t.equal(code, 0);
  t.same(
    stdoutLines.map((line) => [line.level, line.msg]),
    [
      ['warn', 'cache unavailable'],
      ['info', 'stats'],
      ['error', 'shutting down after a fatal error'],
    ],
  );
  const fileLines = parseLines(await readFile(file, 'utf8'));
  t.equal(fileLines.length, INFO_LINES + 3, 'every line at LOG_LEVEL, the last ones written on exit');
  t.match(fileLines.at(-1), { level: 'error', msg: 'shutting down after a fatal error' });
  t.notOk(
    fileLines.some((line) => line.msg === 'request started'),
    'nothing below LOG_LEVEL',
  );
});

t.test('without LOG_FILE every line goes to stdout', async (t) => {
  const { code, stdoutLines } = await runBurst({ LOG_FILE: undefined });
  t.equal(code, 0);
  t.equal(stdoutLines.length, INFO_LINES + 3);
});

/** Starts log-and-wait.ts, stopped when the test ends; its stdout so far in `output()`. */
function startIdleLogger(t: Test, env: NodeJS.ProcessEnv): { output: () => string; running: () => boolean } {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=development', waitEntry], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => void child.kill('SIGTERM'));
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return { output: () => output, running: () => child.exitCode === null && child.signalCode === null };
}

t.test(
  `lines waiting for a batch are written by its timer (LOG_BATCH_MS, ${LOG_BATCH_MS}), with nothing logged after them`,
  async (t) => {
    const file = join(t.testdir(), 'todo-read-1.log');
    const toFile = startIdleLogger(t, { LOG_FILE: file });
    const toStdout = startIdleLogger(t, { LOG_FILE: undefined });
    const written = await waitUntil(
      'the three lines in the file and on stdout',
      async () => {
        const fileLines = parseLines(await readFile(file, 'utf8').catch(() => ''));
        const stdoutLines = parseLines(toStdout.output());
        return fileLines.length === 3 && stdoutLines.length === 3 ? { fileLines, stdoutLines } : undefined;
      },
      15_000,
      20,
    );
    t.same(
      written.fileLines.map((line) => line.msg),
      ['request finished', 'request finished', 'request finished'],
    );
    t.ok(toFile.running() && toStdout.running(), 'written while the processes still run, not by their exit');
    t.equal(toFile.output(), '', 'with LOG_FILE, info lines stay off stdout');
  },
);
