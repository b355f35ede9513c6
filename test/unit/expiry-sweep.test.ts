// The expiry sweep's upkeep against a fake store: links marked expired in slices, old click-batch
// ids forgotten, the click tables' partitions kept up, and daily click detail past
// ANALYTICS_RETENTION_DAYS deleted in slices (or kept forever with 0).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstKeptDay, startExpirySweep } from '../../src/url/expiry-sweep.ts';
import { until } from '../support/fault-probes.ts';
import { captureLogger } from '../support/log.ts';

function fakeStore(options: { expired?: number[]; pruned?: number[]; failPrune?: boolean; failPartitions?: boolean; partitions?: { created: string[]; dropped: string[] } } = {}) {
  const calls = {
    markExpired: 0,
    pruneClickBatches: 0,
    pruneDailyDetail: [] as { before: string; limit: number }[],
    maintainClickPartitions: [] as { today: string; firstKeptDay: string | null }[],
  };
  const expired = [...(options.expired ?? [0])];
  const pruned = [...(options.pruned ?? [0])];
  return {
    calls,
    markExpired: () => {
      calls.markExpired += 1;
      return Promise.resolve(expired.shift() ?? 0);
    },
    pruneClickBatches: () => {
      calls.pruneClickBatches += 1;
      return Promise.resolve(0);
    },
    pruneDailyDetail: (before: string, limit: number) => {
      calls.pruneDailyDetail.push({ before, limit });
      if (options.failPrune === true) return Promise.reject(new Error('postgres is down'));
      return Promise.resolve(pruned.shift() ?? 0);
    },
    maintainClickPartitions: (today: string, firstKeptDay: string | null) => {
      calls.maintainClickPartitions.push({ today, firstKeptDay });
      if (options.failPartitions === true) return Promise.reject(new Error('lock timeout'));
      return Promise.resolve(options.partitions ?? { created: [], dropped: [] });
    },
  };
}

test('firstKeptDay: the retention counts today as its first day, in UTC', () => {
  assert.equal(firstKeptDay(new Date('2026-12-02T23:59:59Z'), 1), '2026-12-02');
  assert.equal(firstKeptDay(new Date('2026-12-02T00:00:00Z'), 2), '2026-12-01');
  assert.equal(firstKeptDay(new Date('2026-03-01T12:00:00Z'), 400), '2025-01-26');
});

test('a sweep marks expired links in slices, prunes batch ids, and deletes old detail until a slice comes back short', async () => {
  const store = fakeStore({ expired: [1000, 1000, 3], pruned: [10_000, 10_000, 42], partitions: { created: ['url_daily_clicks_2027_02'], dropped: ['url_daily_clicks_2025_10'] } });
  const captured = captureLogger('sweep');
  const upkeep: string[] = [];
  const partitionMetrics = { upkept: (created: number, dropped: number) => upkeep.push(`${created}/${dropped}`), upkeepFailed: () => upkeep.push('failed') };
  const dayOf = (at: Date): string => at.toISOString().slice(0, 10);
  const startedOn = dayOf(new Date());
  const stop = startExpirySweep(store, captured.log, { intervalMs: 60_000, retentionDays: 30, partitionMetrics });
  try {
    await until(() => store.calls.pruneDailyDetail.length === 3, 2000, 'three slices of detail');
    assert.equal(store.calls.markExpired, 3, 'until a slice comes back short');
    assert.equal(store.calls.pruneClickBatches, 1);
    // The sweep's own day: the test's, unless midnight (UTC) passed while it ran.
    const sweptOn = store.calls.maintainClickPartitions[0]?.today ?? '';
    assert.ok([startedOn, dayOf(new Date())].includes(sweptOn), `swept on ${sweptOn}, the test began on ${startedOn}`);
    const today = new Date(`${sweptOn}T12:00:00Z`);
    assert.deepEqual(store.calls.pruneDailyDetail[0], { before: firstKeptDay(today, 30), limit: 10_000 });
    assert.deepEqual(store.calls.maintainClickPartitions, [{ today: today.toISOString().slice(0, 10), firstKeptDay: firstKeptDay(today, 30) }], 'partitions at start, before the slices');
    assert.match(captured.text(), /click partitions created.*url_daily_clicks_2027_02|url_daily_clicks_2027_02.*click partitions created/);
    assert.match(captured.text(), /click partitions past their retention dropped/);
    assert.deepEqual(upkeep, ['1/1'], 'counted once, as made and dropped');
    await until(() => /daily click detail past its retention deleted/.test(captured.text()), 2000, 'the log line');
    assert.match(captured.text(), /"pruned":20042/);
  } finally {
    await stop();
  }
});

test('retention 0 keeps the detail forever; a failing prune is logged and the sweep goes on', async () => {
  const keep = fakeStore();
  const stopKeep = startExpirySweep(keep, captureLogger('keep').log, { intervalMs: 20, retentionDays: 0 });
  const failing = fakeStore({ failPrune: true, failPartitions: true });
  const captured = captureLogger('failing');
  let failures = 0;
  const stopFailing = startExpirySweep(failing, captured.log, { intervalMs: 20, retentionDays: 7, partitionMetrics: { upkept: () => undefined, upkeepFailed: () => (failures += 1) } });
  try {
    await until(() => keep.calls.markExpired >= 2 && failing.calls.pruneDailyDetail.length >= 2, 2000, 'two sweeps each');
    assert.equal(keep.calls.pruneDailyDetail.length, 0);
    assert.equal(keep.calls.maintainClickPartitions[0]?.firstKeptDay, null, 'partitions made ahead, none dropped');
    assert.match(captured.text(), /click partition upkeep failed; will retry/);
    assert.ok(failing.calls.markExpired >= 2, 'a failed upkeep does not hold up the rest of the sweep');
    assert.ok(failures >= 2, 'each failed upkeep counted');
    assert.match(captured.text(), /expiry sweep failed; will retry/);
  } finally {
    await stopKeep();
    await stopFailing();
  }
});

test('stop waits for the pass under way and cuts it short at its next slice: the store can be closed at once', async () => {
  let release: () => void = () => undefined;
  let closed = false;
  let slices = 0;
  const store = {
    ...fakeStore(),
    // Full slices for ever, each held until released: a pass that would not end by itself.
    markExpired: () => {
      if (closed) return Promise.reject(new Error('PGlite is closed'));
      slices += 1;
      return new Promise<number>((resolve) => (release = () => resolve(1000)));
    },
  };
  const captured = captureLogger('sweep');
  let outboxPrunes = 0;
  const webhooks = { pruneOutbox: () => ((outboxPrunes += 1), Promise.resolve(0)) };
  const stop = startExpirySweep(store, captured.log, { intervalMs: 60_000, retentionDays: 7, webhooks });
  await until(() => slices === 1, 2000, 'the first slice under way');
  let stopped = false;
  const stopping = stop().then(() => (stopped = true));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(stopped, false, 'not before the slice under way has answered');
  release();
  await stopping;
  closed = true;
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(slices, 1, 'no slice after stop');
  assert.deepEqual([store.calls.pruneClickBatches, store.calls.pruneDailyDetail.length, outboxPrunes], [0, 0, 0], 'and none of the later stages');
  assert.doesNotMatch(captured.text(), /will retry/, 'nothing failed on a closed store');
});
