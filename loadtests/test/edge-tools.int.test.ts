/**
 * Smoke tests of `pnpm edge-cost` and `pnpm edge-overload`: the real tools at a tiny scale, with
 * their own processes. They check that each runs to its summary and refuses bad usage — never
 * how fast anything was: that is what the tools print, not what a test asserts.
 */
import { join } from 'node:path';
import { repoRoot } from '@taskoverflow/stack';
import { runEntry, type CommandRun } from '@taskoverflow/stack/testing';
import t, { type Test } from 'tap';

const TOOLS = {
  'edge-cost': join(repoRoot, 'loadtests', 'edge', 'cost.ts'),
  'edge-overload': join(repoRoot, 'loadtests', 'edge', 'overload.ts'),
};

/** Runs one tool to its end, as `pnpm <tool>` does. */
function runTool(t: Test, tool: keyof typeof TOOLS, args: string[]): Promise<CommandRun> {
  return runEntry(TOOLS[tool], args, { cwd: repoRoot, owner: t });
}

t.test('--help prints the usage and exits 0; bad usage names the problem, prints the usage and exits 2', async (t) => {
  for (const [tool, badOption] of [
    ['edge-cost', '--rounds'],
    ['edge-overload', '--requests'],
  ] as const) {
    const help = await runTool(t, tool, ['--help']);
    t.equal(help.code, 0, `${tool} --help exits 0`, { output: help.output });
    t.match(help.output, new RegExp(`^Usage: pnpm ${tool} `), `${tool} --help prints its usage`);

    const bad = await runTool(t, tool, [badOption, 'many']);
    t.equal(bad.code, 2, `${tool} ${badOption} many exits 2`, { output: bad.output });
    t.match(bad.output, `${badOption} must be a whole number`, 'it names the option and what it takes');
    t.match(bad.output, `Usage: pnpm ${tool} `, 'then the usage');

    const unknown = await runTool(t, tool, ['--warp-speed']);
    t.equal(unknown.code, 2, `${tool} --warp-speed exits 2`, { output: unknown.output });
  }
});

t.test('pnpm edge-cost: a round of each candidate, then the summary', async (t) => {
  const { code, output } = await runTool(t, 'edge-cost', ['--rounds', '1', '--seconds', '1']);
  t.equal(code, 0, 'it exits 0', { output });
  for (const candidate of ['edge', 'edge-warn', 'haproxy']) {
    t.match(output, new RegExp(`^round 1 ${candidate} +[\\d]+ req/s +LB +\\d+ µs/req`, 'm'), `${candidate}: its round`);
    t.match(output, new RegExp(`^  ${candidate} +best \\d+ µs`, 'm'), `${candidate}: in the summary`);
  }
  t.match(output, 'CPU per request of the load balancer process, 1 rounds of 1 s');
});

t.test('pnpm edge-overload: every request of the burst answered or counted, by status', async (t) => {
  const { code, output } = await runTool(t, 'edge-overload', ['--todos', '5', '--requests', '20']);
  t.equal(code, 0, 'it exits 0', { output });
  t.match(output, /^stack: http:\/\/127\.0\.0\.1:\d+, edge: HAProxy \d/m, 'it names the balancer: HAProxy, installed');
  t.match(
    output,
    /^floor: 20 requests at once to a bare node:http server answering at once:\n {2}200: 20, p50 \d+ ms/m,
    'the same burst against a bare server first: the floor',
  );
  const [, throughEdge = ''] = output.split('20 list requests at once through the edge, 5 todos:\n');
  const counted = [...throughEdge.matchAll(/^ {2}(?:\d+|no response): (\d+), p50 \d+ ms/gm)].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
  t.equal(counted, 20, 'the statuses add up to the burst');
  t.match(output, /^ {2}inside the edge, \d+: p50 [\d.]+ ms, p99 [\d.]+ ms$/m, "the edge's own times");
  t.match(
    throughEdge,
    /^ {2}connection attempts dropped by a full accept queue \(each retried after ≥ 1 s\): \d+$/m,
    "the kernel's dropped connection attempts, read from /proc/net/netstat",
  );
});
