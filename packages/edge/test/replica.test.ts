import t from 'tap';
import { admitsToQueue, CompletionRate, DEFAULT_REPLICA_QUEUE } from '../src/replica.js';

const settings = { ...DEFAULT_REPLICA_QUEUE, maxQueueWaitMs: 1_000, minQueueLimit: 64 };

t.test('admitsToQueue: the queue holds what the replica drains within the wait bound', async (t) => {
  t.ok(admitsToQueue(1_199, 1_200, settings), 'at 1,200 completions/s, 1,199 waiting drain within 1 s');
  t.notOk(admitsToQueue(1_200, 1_200, settings), 'the 1,201st would wait past 1 s: refused at arrival');
  t.notOk(admitsToQueue(64, 20, settings), 'large responses at 20/s: 64 waiting already take over 1 s');
  t.ok(
    admitsToQueue(499, 1_000, { ...settings, maxQueueWaitMs: 500 }),
    'the bound is a time: half the wait, half the queue',
  );
  t.notOk(admitsToQueue(500, 1_000, { ...settings, maxQueueWaitMs: 500 }));
});

t.test('admitsToQueue: before any rate is measured, the floor may wait (a cold start is not refused)', async (t) => {
  t.ok(admitsToQueue(63, 0, settings));
  t.notOk(admitsToQueue(64, 0, settings));
  t.notOk(admitsToQueue(0, 0, { ...settings, minQueueLimit: 0 }), 'no floor, no rate: nothing waits');
});

t.test('CompletionRate: completions per second of busy time, an idle spell not counted', async (t) => {
  const rate = new CompletionRate();
  t.equal(rate.perSecond, 0, 'nothing measured yet');
  rate.busy(0);
  for (let ms = 1; ms <= 100; ms += 1) rate.completed(ms);
  t.equal(rate.perSecond, 1_000, 'one completion a millisecond while busy');
  // Idle for 10 s, then busy again at half the pace: the idle time does not dilute the rate.
  rate.busy(10_100);
  for (let ms = 10_102; ms <= 10_300; ms += 2) rate.completed(ms);
  t.ok(rate.perSecond < 1_000 && rate.perSecond > 500, `moves toward 500/s by its weight (${rate.perSecond})`);
  for (let ms = 10_302; ms <= 12_300; ms += 2) rate.completed(ms);
  t.ok(Math.abs(rate.perSecond - 500) < 1, `settles at 500/s (${rate.perSecond})`);
});
