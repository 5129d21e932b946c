/**
 * `pnpm loadtest --compare A B` and `pnpm trace --compare A B` end to end: each CLI runs as a
 * child process, as pnpm runs it, on two recorded runs (test/fixtures), and must print the
 * same table and write compare.html and compare.json where it says.
 */
import { existsSync } from 'node:fs';
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runEntry } from '@taskoverflow/stack/testing';
import t from 'tap';
import type { Comparison } from '../src/report/compare.js';

const ENTRIES = {
  'pnpm loadtest': fileURLToPath(new URL('../../../loadtests/loadtest/cli.ts', import.meta.url)),
  'pnpm trace': fileURLToPath(new URL('../src/cli/trace.ts', import.meta.url)),
};
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Runs a CLI's entry with `args` from `cwd`, without a terminal (no color, 120 columns). */
async function run(command: keyof typeof ENTRIES, args: string[], cwd: string) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // pnpm's INIT_CWD would resolve the run directories against wherever tap was started.
  delete env.INIT_CWD;
  delete env.COLUMNS;
  return runEntry(ENTRIES[command], args, { env, cwd });
}

for (const command of Object.keys(ENTRIES) as Array<keyof typeof ENTRIES>) {
  t.test(`${command} --compare A B: the table, and compare.html and .json in B's directory`, async (t) => {
    const results = t.testdir();
    await cp(FIXTURES, results, { recursive: true });
    const { code, stdout, stderr } = await run(command, ['--compare', 'stress-local', 'quiet/logs'], results);
    t.equal(code, 0, stderr);
    t.match(stdout, /^A {2}stress-local {2}\(studiers-stress · local scale · http:\/\/127\.0\.0\.1:43651\)$/m);
    t.match(stdout, /^ {3}FAILED: /m, "A's headline: its failed checks first");
    t.match(stdout, /^ {3}Bottleneck: the machine \(2 cores\) saturated$/m);
    t.match(stdout, /^B {2}quiet /m);
    t.match(stdout, /^figure +A +B +B ÷ A +better$/m);
    t.match(stdout, /^ {2}k6 p95 +801 ms +57 ms +0\.071× +B better$/m, "k6's p95, the ratio, the better run");
    t.match(stdout, /^ {2}req\/s \(k6, whole run\) +482 +14\.8 +0\.031× +A better$/m);
    t.match(stdout, /^ {2}failed requests +2,895 +3 +0\.0010× +B better$/m);
    t.match(stdout, /^CPU per request$/m);
    t.match(stdout, /^ {2}k6 +301 µs +899 µs +2\.98× +A better$/m);
    t.match(stdout, /^peak memory$/m);
    t.match(stdout, /^cache$/m);
    t.match(
      stdout,
      /^failures: B better on 5, A on 1; latency: B better on 8; throughput: A better on 2; CPU per request: A better on 8, the same on 1; peak memory: B better on 6, the same on 3; cache: the same on 2 \(lines within 2 % of each other count as the same\)\.$/m,
      'where each run did better, section by section, failures first',
    );
    t.match(
      stdout,
      /^ {2}page {2}quiet\/compare\.html \(and compare\.json\)$/m,
      'says where it wrote the page, relative to where it ran',
    );
    const json = JSON.parse(await readFile(join(results, 'quiet', 'compare.json'), 'utf8')) as Comparison;
    t.equal(json.lines.find((line) => line.name === 'k6 p95')!.ratio, 57.202542 / 801.2369657999997);
    t.match(await readFile(join(results, 'quiet', 'compare.html'), 'utf8'), /<h2>B: quiet<\/h2>/);
  });

  t.test(`${command} --compare: --out DIR, and what is wrong with the arguments`, async (t) => {
    const results = t.testdir();
    await cp(FIXTURES, results, { recursive: true });
    const out = await run(command, ['--compare', 'uncached-seed-2000', 'quiet', '--out', 'comparisons/fix'], results);
    t.equal(out.code, 0, out.stderr);
    t.ok(existsSync(join(results, 'comparisons', 'fix', 'compare.html')), 'written into --out');
    t.notOk(existsSync(join(results, 'quiet', 'compare.html')), "not into B's directory");

    const one = await run(command, ['--compare', 'quiet'], results);
    t.equal(one.code, 2);
    t.match(
      one.stderr,
      /--compare takes two run directories, the one before a change and the one after: --compare A B \(got 1\)/,
    );
    const missing = await run(command, ['--compare', 'quiet', 'no-such-run'], results);
    t.equal(missing.code, 1);
    t.match(
      missing.stderr,
      /no-such-run is not a load-test run's directory \(no such directory\): give a run directory under loadtests\/results/,
    );
    const empty = await run(command, ['--compare', 'quiet', 'comparisons'], results);
    t.equal(empty.code, 1);
    t.match(
      empty.stderr,
      /comparisons is not a load-test run's directory \(no k6 summary, logs or process samples in it\)/,
    );
    const mixed = await run(command, ['--compare', 'quiet', 'stress-local', '--slowest'], results);
    t.equal(mixed.code, 2);
    t.match(mixed.stderr, /--compare takes two run directories, and --out DIR only/);
  });
}
