/**
 * The services run with SERVICE_NODE_OPTIONS wherever the stack starts them (pnpm start,
 * pnpm bench, pnpm loadtest, the tests), read back from each running process's environment
 * in /proc. The task definition's and the image's side: infra/test/node-options.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HEALTH_PATH, SERVICE_NODE_OPTIONS } from '@taskoverflow/routing';
import t from 'tap';
import { findFreePort } from '../src/free-port.js';
import { serviceEntry } from '../src/paths.js';
import { startServiceProcess } from '../src/processes.js';
import { startTestStack } from '../src/testing.js';

const stack = await startTestStack(t);

/** The environment of the child process of this one whose SERVICE_INSTANCE is `instance`. */
function childEnvironment(instance: string): Record<string, string> {
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let stat: string, environ: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    } catch {
      continue; // exited meanwhile, or not ours to read
    }
    // The parent's pid is the second field after the command, which is in parentheses.
    const parentPid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (parentPid !== process.pid) continue;
    const environment = Object.fromEntries(
      environ
        .split('\0')
        .filter(Boolean)
        .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
    );
    if (environment.SERVICE_INSTANCE === instance) return environment;
  }
  throw new Error(`no child process of this one has SERVICE_INSTANCE=${instance}`);
}

/**
 * A NODE_OPTIONS's options as Node reads them: separated by spaces, each may be in double
 * quotes (tap's process tracking rewrites its children's NODE_OPTIONS that way).
 */
function optionsOf(nodeOptions: string | undefined): string[] {
  return [...(nodeOptions ?? '').matchAll(/"((?:\\.|[^"\\])*)"|(\S+)/g)].map(
    ([, quoted, bare]) => quoted?.replace(/\\(.)/g, '$1') ?? bare!,
  );
}

/** Each flag's value as Node sees it: the last `--flag=value` counts. */
function effectiveFlags(options: string[]): Map<string, string> {
  return new Map(options.map((option) => [option.split('=')[0]!, option]));
}

const ours = optionsOf(SERVICE_NODE_OPTIONS);

t.test('every service of the stack runs with SERVICE_NODE_OPTIONS, and nothing after them overrides one', async (t) => {
  t.ok(stack.services.length >= 3, 'todo-write and the todo-read replicas');
  for (const { instance } of stack.services) {
    const options = optionsOf(childEnvironment(instance).NODE_OPTIONS);
    t.same(options.slice(0, ours.length), ours, `${instance}: NODE_OPTIONS begins with ours`);
    const effective = effectiveFlags(options);
    for (const [flag, option] of effectiveFlags(ours)) t.equal(effective.get(flag), option, `${instance}: ${flag}`);
  }
});

t.test('an explicit NODE_OPTIONS comes after them, so its flags win', async (t) => {
  const replica = childEnvironment('todo-read-1');
  const port = await findFreePort();
  const override = '--max-semi-space-size=64';
  const service = await startServiceProcess({
    instance: 'todo-read-override',
    entry: serviceEntry('todo-read'),
    env: {
      DATABASE_URL: replica.DATABASE_URL!,
      HOST: '127.0.0.1',
      PORT: String(port),
      SERVICE_INSTANCE: 'todo-read-override',
      NODE_OPTIONS: override,
    },
    healthUrl: `http://127.0.0.1:${port}${HEALTH_PATH}`,
    onLine: () => undefined,
  });
  t.teardown(() => service.stop());
  const options = optionsOf(childEnvironment('todo-read-override').NODE_OPTIONS);
  t.same(options.slice(0, ours.length + 1), [...ours, override], 'ours, then the explicit one');
  t.equal(effectiveFlags(options).get('--max-semi-space-size'), override, 'which is the one that counts');
});

t.test('a process that is not a service (the bench ceiling, a fixture) runs with Node’s defaults', async (t) => {
  const port = await findFreePort();
  const service = await startServiceProcess({
    instance: 'fixture-1',
    entry: fileURLToPath(new URL('fixtures/health-server.ts', import.meta.url)),
    env: { PORT: String(port), SERVICE_INSTANCE: 'fixture-1' },
    healthUrl: `http://127.0.0.1:${port}${HEALTH_PATH}`,
    onLine: () => undefined,
  });
  t.teardown(() => service.stop());
  const options = optionsOf(childEnvironment('fixture-1').NODE_OPTIONS);
  t.same(
    options.filter((option) => ours.includes(option)),
    [],
    `none of ours in ${JSON.stringify(options)}`,
  );
});
