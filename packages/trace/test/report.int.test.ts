/**
 * The bottleneck report on a recorded run: test/fixtures/stress-local is a stress run at local
 * scale (1000 VUs, RAMP=40s HOLD=15s) of 2026-12-01 on the shared 2-core machine, its logs cut
 * to half a second at the peak (every stats line kept), its /proc samples, k6 summary and
 * series whole. The verdict must follow from the figures written beside it; the page must
 * render in Chromium with its plots.
 */
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import t from 'tap';
import { writeBottleneckReport } from '../src/report/index.js';
import { SATURATED_SHARE } from '../src/report/verdict.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/stress-local/', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';

const runDir = t.testdir();
await cp(FIXTURE, runDir, { recursive: true });
const report = await writeBottleneckReport(runDir);
const { figures, verdict } = report;

t.test('the stress run: the machine saturated, by other work more than by this run', async (t) => {
  const { machine, cores, list } = figures.processes;
  t.ok(
    machine && cores && machine.peakCores >= SATURATED_SHARE * cores,
    'the figures: the machine at 90 % or more of its cores',
  );
  t.equal(verdict.saturated, 'the machine (2 cores)');
  // Its 9 % failed requests come first (the headline and the functional findings), then the speed.
  t.match(verdict.headline, /^FAILED: /);
  const finding = verdict.findings.find((candidate) => candidate.rule === 'machine saturated');
  t.ok(finding, 'the machine is named saturated');
  t.equal(finding!.evidence.busiestProcess, list[0]!.name, 'names the process that used the most CPU');
  t.ok(
    list.every((process) => process.kind !== 'replica' || process.peakCores < SATURATED_SHARE),
    'no replica at a full core, so none is named',
  );
});

t.test('the gap between k6 and the services is named as queueing before them', async (t) => {
  const client = figures.client.find((group) => group.name === 'all requests')!.p95Ms!;
  const service = figures.services!.p95Ms;
  t.ok(client - service > 0.5 * client, `k6 p95 ${client} ms, the services' ${service} ms`);
  const queueing = verdict.findings.find((finding) => finding.rule === 'queueing before the services');
  t.ok(queueing, 'the verdict says so');
  t.equal(queueing!.evidence.clientP95Ms, Number(client.toFixed(1)));
});

t.test('bottlenecks.json holds the figures and the verdict', async (t) => {
  const json = JSON.parse(await readFile(join(runDir, 'bottlenecks.json'), 'utf8')) as {
    verdict: unknown;
    figures: { readPath: { reads: number } };
  };
  t.same(json.verdict, verdict);
  t.equal(json.figures.readPath.reads, figures.readPath.reads);
  t.ok(figures.readPath.reads > 0 && figures.slowest.length > 0, 'reads and slowest requests from the logs');
});

t.test('the page renders in headless Chromium, with the latency, CPU and cache plots and the waterfalls', async (t) => {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  await page.goto(`file://${report.files.html}`);
  t.match(
    await page.locator('#verdict h2').innerText(),
    /^Verdict: FAILED: /,
    'the heading says first that requests failed',
  );
  t.match(
    await page.locator('#verdict').innerText(),
    /Bottleneck: the machine \(2 cores\) saturated/,
    'then what saturated',
  );
  for (const section of ['latency', 'cpu', 'read-path']) {
    const box = await page.locator(`#${section} svg`).first().boundingBox();
    t.ok(box && box.width > 300 && box.height > 100, `#${section} has a plot drawn on the page`);
  }
  t.ok((await page.locator('#cpu svg path.series').count()) >= 3, 'CPU plot: a line per process');
  t.equal(await page.locator('#slowest pre').count(), figures.slowest.length, 'a waterfall per slow request');
});
