/**
 * The /proc sampler that runs beside k6 records when k6 started, for the bottleneck report to
 * leave out what came before (the seeding): on Linux no later than its first sample, and
 * elsewhere with no sample at all.
 */
import { setTimeout as delay } from 'node:timers/promises';
import t from 'tap';
import { RUNNER_PROCESS } from '@taskoverflow/trace';
import { ProcessSampler } from '../loadtest/process-sampler.js';

const INTERVAL_MS = 100;

t.test('records when sampling began, then this process as the runner', async (t) => {
  const before = Date.now();
  const sampler = new ProcessSampler(process.pid, INTERVAL_MS);
  await delay(3 * INTERVAL_MS);
  const recorded = sampler.stop();

  t.ok(
    recorded.startedAtMs !== undefined && recorded.startedAtMs >= before && recorded.startedAtMs <= Date.now(),
    'when sampling began',
  );
  t.ok(recorded.samples.length >= 2, `${recorded.samples.length} samples (Linux)`);
  t.ok(recorded.startedAtMs! <= recorded.samples[0]!.atMs, 'no later than the first sample');
  t.ok(
    recorded.samples.every((sample) => sample.processes[RUNNER_PROCESS] !== undefined),
    'this process, as the runner, in every sample',
  );
});
