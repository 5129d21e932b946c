/**
 * Which balancer ran as the edge (HAProxy or the Node edge) is named by the edge's first line,
 * `edge listening`: the report's title carries it, and --compare says when two runs differ in it.
 * The recorded runs (test/fixtures) are copied and given each a listening line.
 */
import { appendFile, cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EDGE_LISTENING_MESSAGE } from '@taskoverflow/observability';
import t, { type Test } from 'tap';
import { compareRuns, readComparedRun } from '../src/report/compare.js';
import { REPORT_FILES, writeBottleneckReport } from '../src/report/index.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** A copy of a recorded run whose edge log begins its run with the listening line of `balancer`. */
async function runWithBalancer(t: Test, name: string, balancer: string): Promise<string> {
  const runDir = t.testdir();
  await cp(fixture(name), runDir, { recursive: true });
  const line = {
    level: 'info',
    time: '2026-12-06T09:00:00.000Z',
    service: 'edge',
    hostname: 'edge',
    balancer,
    url: 'http://127.0.0.1:8080',
    msg: EDGE_LISTENING_MESSAGE,
  };
  await appendFile(join(runDir, 'logs', 'edge.log'), `${JSON.stringify(line)}\n`);
  return runDir;
}

t.test('the report names the balancer that ran as the edge', async (t) => {
  const runDir = await runWithBalancer(t, 'quiet', 'HAProxy 2.6.12');
  const { figures } = await writeBottleneckReport(runDir);
  t.equal(figures.run.balancer, 'HAProxy 2.6.12');
  t.match(await readFile(join(runDir, REPORT_FILES.html), 'utf8'), /<p>[^<]*· edge: HAProxy 2\.6\.12<\/p>/);
});

t.test('a run without the line (the edge elsewhere, or an older run) names none', async (t) => {
  const runDir = t.testdir();
  await cp(fixture('quiet'), runDir, { recursive: true });
  t.equal((await writeBottleneckReport(runDir)).figures.run.balancer, undefined);
});

t.test('--compare says when the runs had different balancers', async (t) => {
  const a = await readComparedRun(await runWithBalancer(t, 'quiet', 'Node edge'));
  const b = await readComparedRun(await runWithBalancer(t, 'quiet', 'HAProxy 2.6.12'));
  t.ok(
    compareRuns(a, b).notes.includes('the balancer (edge) differs: A Node edge, B HAProxy 2.6.12'),
    'a note names both',
  );
  t.notOk(
    compareRuns(a, a).notes.some((note) => note.startsWith('the balancer')),
    'and none when they are the same',
  );
});
