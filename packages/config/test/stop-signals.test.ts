import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const FIXTURE = fileURLToPath(new URL('fixtures/slow-stop.ts', import.meta.url));
/** Past the window in which a repeat is taken for pnpm's relayed copy of the first signal. */
const AFTER_RELAY_WINDOW_MS = 1_200;

/** The fixture, started; `printed(text)` resolves once its output holds `text`. */
function startFixture(env: Record<string, string>) {
  const { npm_lifecycle_event: _, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const waiting = new Set<() => void>();
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const check of waiting) check();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  const printed = (text: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (!output.includes(text)) return;
        waiting.delete(check);
        resolve();
      };
      waiting.add(check);
      void exit.then(() => reject(new Error(`it exited without printing "${text}":\n${output}`)));
      check();
    });
  return { child, exit, printed, output: () => output };
}

t.test('as a pnpm script: one line for the signal and its relayed copy, then exit 0', async (t) => {
  const tool = startFixture({ STOP_MS: '300', npm_lifecycle_event: 'slow-stop' });
  await tool.printed('ready');
  // What a terminal's Ctrl-C under pnpm delivers: the signal, and pnpm's copy of it a moment later.
  tool.child.kill('SIGINT');
  await tool.printed('stopping…');
  tool.child.kill('SIGINT');
  t.equal(await tool.exit, 0, 'exit 0: pnpm reports no failure');
  t.equal(tool.output(), 'ready\n\nSIGINT: stopping… (again to exit at once)\n');
});

t.test('a relayed copy that waited out a blocked event loop is still the copy', async (t) => {
  const tool = startFixture({
    STOP_MS: '300',
    BLOCK_MS: String(AFTER_RELAY_WINDOW_MS),
    npm_lifecycle_event: 'slow-stop',
  });
  await tool.printed('ready');
  tool.child.kill('SIGINT');
  await tool.printed('stopping…');
  tool.child.kill('SIGINT'); // arrives while the loop is blocked; handled well past the window
  t.equal(await tool.exit, 0);
  t.notMatch(tool.output(), /SIGINT again/);
});

t.test('run directly: the conventional 128 + the signal number', async (t) => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    const tool = startFixture({ STOP_MS: '0' });
    await tool.printed('ready');
    tool.child.kill(signal);
    t.equal(await tool.exit, code, `${signal}: ${code}`);
  }
});

t.test('a second signal, later, exits at once without waiting for the stop', async (t) => {
  const tool = startFixture({ STOP_MS: '60000', npm_lifecycle_event: 'slow-stop' });
  await tool.printed('ready');
  tool.child.kill('SIGINT');
  await tool.printed('stopping…');
  await sleep(AFTER_RELAY_WINDOW_MS);
  tool.child.kill('SIGINT');
  t.equal(await tool.exit, 130, 'not a clean stop: 130 even under pnpm');
  t.match(tool.output(), /\nSIGINT again: exiting without waiting\n$/);
});
