// The click pipeline off the redirect path: queueing what a redirect saw, describing it soon after
// (bots apart), counting in memory, batched flushes, retry on failure, the memory bound and the
// shutdown flush, against a fake store that records what it is given. No test waits on real time: a
// write under way is one the test holds (the store's hold()), the flush interval and stop()'s retries
// run on the test runner's mock timers (fakeTime), and a drain is a turn of the event loop.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { DIRECT, referrerHost, type SeenRequest, type VisitorClassifier } from '../../src/analytics/visitor.ts';
import { createClickCounter, MAX_BATCH_LINKS, QUEUE_MAX, type ClickCounterOptions } from '../../src/url/click-counter.ts';
import { eachDayValue, type ClickAggregate, type DayClicks, type Dimension } from '../../src/storage/link-store.ts';
import { captureLogger, testLogger } from '../support/log.ts';
import { PREVIEW_BOT_UA, seenFromPerson, testVisitors } from '../support/visitors.ts';

/** A click from a person's browser, from a page on `host` (none: direct). */
const from = (host?: string): SeenRequest => seenFromPerson(host === undefined ? undefined : `https://${host}/page`);
const visitors = testVisitors();

function copyDay(d: DayClicks): DayClicks {
  return { ...d, values: Array.isArray(d.values) ? [...d.values] : new Map([...d.values].map(([dimension, counts]) => [dimension, new Map(counts)])) };
}

/** A day's counts of one dimension, whichever form the day keeps them in. */
function dayValuesOf(d: DayClicks | undefined, dimension: Dimension): Map<string, number> {
  const counts = new Map<string, number>();
  if (d !== undefined) eachDayValue(d.values, (dim, value, n) => dim === dimension && counts.set(value, (counts.get(value) ?? 0) + n));
  return counts;
}

/** A link's counts of one dimension over all its days. */
function valuesOf(a: ClickAggregate | undefined, dimension: Dimension): Map<string, number> {
  const sum = new Map<string, number>();
  for (const d of a?.days.values() ?? []) for (const [value, n] of dayValuesOf(d, dimension)) sum.set(value, (sum.get(value) ?? 0) + n);
  return sum;
}

/**
 * A store whose applyClicks records each batch (deep-copied) and fails while `failing` is set. After
 * hold(), each write is under way until the test opens the gate hold() returned: a slow PostgreSQL
 * for exactly as long as the test needs, whatever the machine's load (`failing` is read once opened).
 */
function fakeStore() {
  const batches: ClickAggregate[][] = [];
  const ids: (string | undefined)[] = [];
  /** failing: nothing written; lostAnswer: written, but the caller hears a failure (COMMIT answer lost). */
  const state = { failing: false, lostAnswer: false, calls: 0 };
  const applied = new Set<string>();
  let gate: Promise<void> | null = null;
  return {
    state,
    batches,
    ids,
    /** Holds the writes given from now on; they go on when the returned function is called. */
    hold(): () => void {
      let open = (): void => {};
      const held = new Promise<void>((resolve) => (open = resolve));
      gate = held;
      return () => {
        if (gate === held) gate = null;
        open();
      };
    },
    async applyClicks(batch: readonly ClickAggregate[], batchId?: string) {
      state.calls += 1;
      ids.push(batchId);
      if (gate !== null) await gate;
      if (state.failing) throw new Error('postgres is down');
      // Idempotent by batch id, as the PostgreSQL store is.
      if (batchId === undefined || !applied.has(batchId)) {
        if (batchId !== undefined) applied.add(batchId);
        batches.push(batch.map((a) => ({ ...a, days: new Map([...a.days].map(([day, d]) => [day, copyDay(d)])) })));
      }
      if (state.lostAnswer) throw new Error('connection lost before the COMMIT answer');
    },
    /** Every click written so far, summed per link. */
    totals(): Map<number, number> {
      const totals = new Map<number, number>();
      for (const a of batches.flat()) totals.set(a.linkId, (totals.get(a.linkId) ?? 0) + a.clicks);
      return totals;
    },
  };
}

function metricsSpy() {
  const seen = { flushed: [] as number[], failed: 0, dropped: 0, shed: { value: 0, day: 0 } };
  return {
    seen,
    metrics: {
      flushed: (clicks: number) => void seen.flushed.push(clicks),
      flushFailed: () => void (seen.failed += 1),
      dropped: (n: number) => void (seen.dropped += n),
      shed: (detail: 'value' | 'day', n: number) => void (seen.shed[detail] += n),
    },
  };
}

/** Map entries a batch holds: one per link, per link and day, per link, day and value. */
function entriesOf(batch: readonly ClickAggregate[]): number {
  let n = 0;
  for (const a of batch) {
    n += 1 + a.days.size;
    for (const d of a.days.values()) eachDayValue(d.values, () => (n += 1));
  }
  return n;
}

function counterWith(overrides: Partial<ClickCounterOptions> & { store: ClickCounterOptions['store'] }) {
  return createClickCounter({ log: testLogger('clicks'), visitors, flushIntervalMs: 60_000, bufferMax: 1000, ...overrides });
}

/**
 * Time that passes only when the test says: setTimeout and setInterval on the runner's mock timers,
 * performance.now() (stop()'s deadline) on the same clock. advance() fires what falls due, then lets
 * the event loop take a turn, so that the flushes and retries it started have settled. Undone at the
 * end of the test.
 */
function fakeTime(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  let ms = 0;
  t.mock.method(performance, 'now', () => ms);
  return {
    now: () => ms,
    async advance(by: number): Promise<void> {
      ms += by;
      t.mock.timers.tick(by);
      await nextTurn();
    },
  };
}

test('clicks are counted per link: total, per UTC day, per value of each dimension, and last click time', async () => {
  const store = fakeStore();
  const clock = { value: new Date('2026-03-01T23:59:58.000Z') };
  const clicks = counterWith({ store, now: () => clock.value });
  clicks.record(1, from('news.example'));
  clicks.record(1, from());
  clock.value = new Date('2026-03-02T00:00:01.000Z');
  clicks.record(1, from('news.example'));
  clicks.record(2, from());
  assert.equal(clicks.pending(), 4);
  assert.equal(await clicks.flush(), 4);
  assert.equal(clicks.pending(), 0);
  assert.equal(store.batches.length, 1, 'one batch per flush');
  const byId = new Map(store.batches[0]?.map((a) => [a.linkId, a]));
  const one = byId.get(1);
  assert.ok(one);
  assert.equal(one.clicks, 3);
  assert.deepEqual([...one.days].map(([day, d]) => [day, d.clicks, d.botHits]), [['2026-03-01', 2, 0], ['2026-03-02', 1, 0]]);
  assert.deepEqual([...valuesOf(one, 'referrer')].sort(), [[DIRECT, 1], ['news.example', 2]]);
  assert.deepEqual([...valuesOf(one, 'browser')], [['Chrome', 3]]);
  assert.deepEqual([...valuesOf(one, 'os')], [['Windows', 3]]);
  assert.deepEqual([...valuesOf(one, 'device')], [['desktop', 3]]);
  assert.deepEqual([...valuesOf(one, 'country')], [['(unknown)', 3]], 'loopback has no country');
  assert.deepEqual([...dayValuesOf(one.days.get('2026-03-01'), 'referrer')].sort(), [[DIRECT, 1], ['news.example', 1]], 'per day');
  assert.equal(one.lastClickedAt?.toISOString(), '2026-03-02T00:00:01.000Z');
  assert.equal(byId.get(2)?.clicks, 1);
});

test('a flush writes only what arrived since the last one; an empty flush writes nothing', async () => {
  const store = fakeStore();
  const clicks = counterWith({ store });
  clicks.record(7, from());
  await clicks.flush();
  assert.equal(await clicks.flush(), 0);
  assert.equal(store.state.calls, 1, 'an empty buffer costs no store call');
  clicks.record(7, from());
  await clicks.flush();
  assert.deepEqual(store.batches.map((b) => b.map((a) => a.clicks)), [[1], [1]]);
});

test('many clicks on many links become one batch per flush', async () => {
  const store = fakeStore();
  const clicks = counterWith({ store });
  for (let i = 0; i < 5000; i++) clicks.record(i % 50, from(`r${i % 3}.example`));
  assert.equal(await clicks.flush(), 5000);
  assert.equal(store.state.calls, 1);
  assert.equal(store.batches[0]?.length, 50);
  assert.ok([...store.totals().values()].every((n) => n === 100));
});

test('a failed flush keeps its batch, reports the failure, and retries that same batch (same id) before newer clicks', async () => {
  const store = fakeStore();
  const spy = metricsSpy();
  const clicks = counterWith({ store, metrics: spy.metrics });
  clicks.record(1, from('a.example'));
  clicks.record(2, from());
  store.state.failing = true;
  await assert.rejects(clicks.flush(), /postgres is down/);
  assert.equal(clicks.pending(), 2, 'nothing lost');
  assert.equal(spy.seen.failed, 1);
  await assert.rejects(clicks.flush());
  clicks.record(1, from('a.example'));
  store.state.failing = false;
  assert.equal(await clicks.flush(), 3);
  assert.deepEqual([...store.totals()].sort(), [[1, 2], [2, 1]]);
  assert.equal(store.batches.length, 2, 'the retried batch, then the newer clicks');
  assert.deepEqual(store.batches[0]?.map((a) => [a.linkId, a.clicks]).sort(), [[1, 1], [2, 1]]);
  const [first, second, third, fourth] = store.ids;
  assert.ok(first !== undefined && first === second && second === third, 'every attempt of a batch carries its id');
  assert.notEqual(fourth, first);
  assert.deepEqual(spy.seen.flushed, [3]);
  assert.equal(clicks.pending(), 0);
});

test('a flush whose COMMIT answer is lost is retried with its id, so no click is counted twice', async () => {
  const store = fakeStore();
  const clicks = counterWith({ store });
  for (let i = 0; i < 5; i++) clicks.record(7, from());
  store.state.lostAnswer = true;
  await assert.rejects(clicks.flush(), /COMMIT answer/);
  assert.equal(clicks.pending(), 5, 'the counter cannot know it was written');
  store.state.lostAnswer = false;
  clicks.record(7, from());
  await clicks.flush();
  assert.deepEqual([...store.totals()], [[7, 6]], 'five once, plus the one recorded later');
  assert.equal(clicks.pending(), 0);
});

test('clicks recorded while a flush is failing are kept apart from the failed batch and written after it', async () => {
  const store = fakeStore();
  store.state.failing = true;
  const open = store.hold();
  const clicks = counterWith({ store });
  clicks.record(1, from());
  const failing = clicks.flush();
  clicks.record(1, from('b.example')); // arrives during the flush
  clicks.record(3, from());
  await nextTurn(); // and is counted while the write is still under way
  open();
  await assert.rejects(failing);
  assert.equal(clicks.pending(), 3);
  store.state.failing = false;
  await clicks.flush();
  assert.deepEqual([...store.totals()].sort(), [[1, 2], [3, 1]]);
  assert.deepEqual(store.batches.map((b) => b.length), [1, 2]);
});

test('concurrent flush calls share one store call (a flush is never run twice at once)', async () => {
  const store = fakeStore();
  const open = store.hold();
  const clicks = counterWith({ store });
  clicks.record(1, from());
  const both = Promise.all([clicks.flush(), clicks.flush()]);
  open();
  const [a, b] = await both;
  assert.equal(a, 1);
  assert.equal(b, 1);
  assert.equal(store.state.calls, 1);
});

test("the buffer is bounded: a new link's total sheds the values held for others first; past that, clicks of new links are dropped and counted; known links keep counting", async () => {
  const store = fakeStore();
  const spy = metricsSpy();
  // 8 entries, of which values may fill 6 (three quarters): link 1 takes its day and 4 of its 5 values
  // (6), link 2 its day only (8, its 5 values shed). Link 3 sheds link 1's four values to fit (6, its
  // own five shed), link 4 fits (8, the same), and link 5 finds no value left to shed: dropped.
  const clicks = counterWith({ store, bufferMax: 8, metrics: spy.metrics });
  for (const id of [1, 2, 3, 4, 5, 4]) clicks.record(id, from());
  clicks.record(1, from());
  await clicks.flush();
  assert.equal(spy.seen.dropped, 1, 'link 5 did not fit');
  // Link 1: its fifth value, then its four kept ones, then the five of its second click; links 2 and 3:
  // five each; link 4: five for each of its two clicks.
  assert.equal(spy.seen.shed.value, 1 + 4 + 5 + 5 + 5 + 2 * 5, 'each value of every click counted is kept or counted as shed');
  assert.deepEqual([...store.totals()].sort(), [[1, 2], [2, 1], [3, 1], [4, 2]]);
  const batch = store.batches[0] ?? [];
  assert.equal(entriesOf(batch), 8, 'four links and their days, no values');
  assert.equal(valuesOf(batch.find((a) => a.linkId === 1), 'browser').size, 0, "link 1's values were shed");
  // After a flush there is room again.
  clicks.record(5, from());
  assert.equal(clicks.pending(), 1);
  await clicks.flush();
  assert.equal(spy.seen.dropped, 1);
  assert.deepEqual(store.totals().get(5), 1);
  assert.equal(valuesOf(store.batches[1]?.[0], 'browser').get('Chrome'), 1, 'and for values');
});

test('after a walk found nothing to shed, a written batch makes values sheddable again', async () => {
  const store = fakeStore();
  const spy = metricsSpy();
  const clicks = counterWith({ store, bufferMax: 8, metrics: spy.metrics });
  // As in the bound test: link 5 finds no value left and is dropped.
  for (const id of [1, 2, 3, 4, 5]) clicks.record(id, from());
  await clicks.flush();
  assert.equal(spy.seen.dropped, 1);
  // Written: link 6 keeps its day and four values (6 entries), link 7 its day (8); link 8 sheds link 6's values.
  for (const id of [6, 7, 8]) clicks.record(id, from());
  await clicks.flush();
  assert.equal(spy.seen.dropped, 1, 'link 8 was not dropped');
  assert.deepEqual([6, 7, 8].map((id) => store.totals().get(id)), [1, 1, 1]);
});

test('a run of new links (a flush fallen behind) keeps every total: the values that filled their share make room, so bufferMax / 2 links fit', async () => {
  const store = fakeStore();
  const spy = metricsSpy();
  // Kept as they came, the first links' values (7 entries a link) would fill 75 of the 100 entries and
  // leave room for about 23 links in all.
  const clicks = counterWith({ store, bufferMax: 100, metrics: spy.metrics });
  for (let link = 1; link <= 51; link++) clicks.record(link, from());
  await clicks.flush();
  assert.equal(spy.seen.dropped, 1, 'fifty links and their days fill the bound; the fifty-first is dropped');
  const batch = store.batches[0] ?? [];
  assert.equal(batch.length, 50);
  assert.ok(batch.every((a) => a.clicks === 1 && [...a.days.values()].every((d) => d.clicks === 1)), 'each total and day is exact');
  assert.equal(entriesOf(batch), 100);
  assert.equal(spy.seen.shed.value, 50 * 5, 'all their values were shed, each counted');
});

/**
 * A counter, `ids` clicked once each, and their flush under way: its first batch given to the store,
 * whose write goes on only when the test calls `open` (then every write goes through at once).
 */
function flushUnderWay(options: Partial<ClickCounterOptions>, ids: readonly number[]) {
  const store = fakeStore();
  const spy = metricsSpy();
  const open = store.hold();
  const clicks = counterWith({ store, metrics: spy.metrics, ...options });
  for (const id of ids) clicks.record(id, from());
  const flushing = clicks.flush();
  assert.equal(store.state.calls, 1, 'the first batch is given to the store');
  return { store, spy, clicks, flushing, open };
}

test('while a flush falls behind, new links shed the values of the batches waiting, never of the one being written', async () => {
  // 40 entries, values 30: links 1-4 take 7 each (28). The flush sends batch [1, 2] and holds [3, 4].
  const { store, spy, clicks, flushing, open } = flushUnderWay({ bufferMax: 40, maxBatchLinks: 2 }, [1, 2, 3, 4]);
  // Links 5-10 fill the bound (their values shed); 11-15 take the room of links 3 and 4's values (ten
  // entries: five links); 16-20 find no value left to shed.
  for (let id = 5; id <= 20; id++) clicks.record(id, from());
  await nextTurn(); // counted while [1, 2] is still being written
  open();
  await flushing;
  await clicks.flush();
  assert.equal(spy.seen.dropped, 5, 'links 16-20');
  const totals = store.totals();
  for (let id = 1; id <= 15; id++) assert.equal(totals.get(id), 1, `link ${id}: its total`);
  const written = store.batches.flat();
  const byId = new Map(written.map((a) => [a.linkId, a]));
  assert.equal(valuesOf(byId.get(1), 'browser').get('Chrome'), 1, 'the batch being written kept its values');
  assert.equal(valuesOf(byId.get(2), 'browser').get('Chrome'), 1);
  assert.equal(valuesOf(byId.get(3), 'browser').size + valuesOf(byId.get(4), 'browser').size, 0, 'the waiting batch gave its values up');
  assert.equal(spy.seen.shed.value, 15 * 5 - 2 * 5, 'each value of the fifteen clicks counted is kept or counted as shed');
});

test('a click of a link whose batch the store has not been given yet is added to that batch: a flush that falls behind drops no click', async () => {
  // 30 entries, values 22: links 1-3 take 7 each (21), link 4 its day only (23, its values shed).
  const { store, spy, clicks, flushing, open } = flushUnderWay({ bufferMax: 30, maxBatchLinks: 1 }, [1, 2, 3, 4]);
  // While link 1's batch is written: links 2-4 again (their batches wait), link 1 again, a new link 5.
  // As new entries in the buffer, 2, 3 and 4 would take 6 of the 7 places left, and 1 and 5 would not fit.
  for (const id of [2, 3, 4, 1, 5]) clicks.record(id, from());
  await nextTurn(); // counted while link 1's batch is still being written
  assert.equal(clicks.pending(), 9);
  open();
  assert.equal(await flushing, 7, 'links 1-4, with the three clicks added to the batches not yet written');
  assert.deepEqual(store.batches.map((b) => b.map((a) => [a.linkId, a.clicks])), [[[1, 1]], [[2, 2]], [[3, 2]], [[4, 2]]]);
  assert.deepEqual(store.batches.slice(1).map((b) => valuesOf(b[0], 'browser').get('Chrome')), [2, 2, undefined], "links 2 and 3 count the value twice; link 4's was shed");
  assert.equal(clicks.pending(), 2, "link 1's second click waited in the buffer: its batch was being written");
  await clicks.flush();
  assert.equal(spy.seen.dropped, 0);
  assert.deepEqual([...store.totals()].sort((a, b) => a[0] - b[0]), [[1, 2], [2, 2], [3, 2], [4, 2], [5, 1]]);
  assert.deepEqual(spy.seen.flushed, [7, 2]);
});

test('a batch the store was given is retried exactly as it was: a later click of its link waits in the buffer; one of a batch after it joins that batch', async () => {
  const store = fakeStore();
  store.state.failing = true;
  const clicks = counterWith({ store, maxBatchLinks: 1 });
  for (const id of [1, 2]) clicks.record(id, from());
  await assert.rejects(clicks.flush());
  assert.equal(store.ids.length, 1, "link 1's batch was tried; link 2's was not");
  for (const id of [1, 2]) clicks.record(id, from());
  await nextTurn();
  store.state.failing = false;
  assert.equal(await clicks.flush(), 4);
  assert.equal(store.ids[1], store.ids[0], 'the retry carries the same id');
  assert.deepEqual(store.batches.map((b) => b.map((a) => [a.linkId, a.clicks])), [[[1, 1]], [[2, 2]], [[1, 1]]], "link 1's batch as it was tried, link 2's with both its clicks, then the buffer");
  assert.equal(clicks.pending(), 0);
  assert.deepEqual([...store.totals()].sort((a, b) => a[0] - b[0]), [[1, 2], [2, 2]]);
});

test('the bound holds through a long outage: links arriving during failing flushes never grow the buffer past bufferMax', async () => {
  const store = fakeStore();
  const spy = metricsSpy();
  store.state.failing = true;
  const clicks = counterWith({ store, bufferMax: 8, metrics: spy.metrics });
  for (const id of [1, 2, 3]) clicks.record(id, from());
  let next = 4;
  for (let round = 0; round < 4; round++) {
    const open = store.hold();
    const flushing = clicks.flush();
    // New links keep arriving while each flush is in flight (PostgreSQL down: every attempt takes a while).
    for (let i = 0; i < 3; i++) clicks.record(next++, from());
    await nextTurn(); // counted while the attempt is under way
    open();
    await assert.rejects(flushing);
  }
  store.state.failing = false;
  await clicks.flush();
  // Every batch written was held in memory at once (the first failed while the others waited).
  const written = store.batches.flat();
  assert.ok(entriesOf(written) <= 8, `${entriesOf(written)} entries were held in memory for a bound of 8`);
  assert.equal(written.length + spy.seen.dropped, 15, 'every click is either written or counted as dropped');
});

test("a day's first values are kept as flat triples, and move into maps with their counts once there are many", async () => {
  const store = fakeStore();
  const clicks = counterWith({ store });
  clicks.record(1, from('news.example'));
  clicks.record(1, from('news.example'));
  // Link 2: 20 referrer hosts, each twice, interleaved: 20 + 4 distinct pairs, past the flat form's 16.
  for (let round = 0; round < 2; round++) for (let i = 0; i < 20; i++) clicks.record(2, from(`r${i}.example`));
  await clicks.flush();
  const byId = new Map(store.batches[0]?.map((a) => [a.linkId, a]));
  const few = [...(byId.get(1)?.days.values() ?? [])][0];
  assert.ok(few !== undefined && Array.isArray(few.values), 'one small array for a day of few values');
  assert.equal(few.values.length, 3 * 5, 'referrer, country, browser, OS, device: one triple each');
  assert.deepEqual([...dayValuesOf(few, 'referrer')], [['news.example', 2]]);
  const many = [...(byId.get(2)?.days.values() ?? [])][0];
  assert.ok(many !== undefined && many.values instanceof Map, 'maps for a day of many values');
  const referrers = dayValuesOf(many, 'referrer');
  assert.equal(referrers.size, 20);
  for (const [host, n] of referrers) assert.equal(n, 2, `${host}: both its clicks, counted across the move into maps`);
  assert.deepEqual([...dayValuesOf(many, 'browser')], [['Chrome', 40]]);
  assert.equal(entriesOf(store.batches[0] ?? []), 2 + 2 + 5 + (20 + 4), 'entries: two links, two days, their values');
});

test('values are capped per link, day and dimension: past 100 distinct referrer hosts they fold into "(other)"', async () => {
  const store = fakeStore();
  const clicks = counterWith({ store });
  for (let i = 0; i < 150; i++) clicks.record(1, from(`spam${i}.example`));
  clicks.record(1, from('spam0.example')); // a host already kept still counts as itself
  await clicks.flush();
  const referrers = valuesOf(store.batches[0]?.[0], 'referrer');
  assert.equal(referrers.size, 101);
  assert.equal(referrers.get('(other)'), 50);
  assert.equal(referrers.get('spam0.example'), 2);
  assert.equal([...referrers.values()].reduce((s, n) => s + n, 0), 151, 'every click still counts');
});

test('a spray of distinct referrers stays within bufferMax entries overall; totals stay exact and the shed detail is counted', async () => {
  // Values may fill 30 of the 40 entries: the first links keep theirs, the rest keep their link and day.
  const store = fakeStore();
  const spy = metricsSpy();
  const clicks = counterWith({ store, bufferMax: 40, metrics: spy.metrics });
  // 10 links, each clicked from 100 distinct referrer hosts: 1,000 clicks, 1,000 distinct (link, host) pairs.
  for (let host = 0; host < 100; host++) for (let link = 1; link <= 10; link++) clicks.record(link, from(`spray${host}.example`));
  assert.equal(await clicks.flush(), 1000, 'every click is written');
  const batch = store.batches[0] ?? [];
  assert.ok(entriesOf(batch) <= 40, `${entriesOf(batch)} entries were held in memory for a bound of 40`);
  for (let link = 1; link <= 10; link++) {
    const aggregate = batch.find((a) => a.linkId === link);
    assert.equal(aggregate?.clicks, 100, `link ${link}: its total is exact`);
    assert.equal([...(aggregate?.days.values() ?? [])].reduce((s, d) => s + d.clicks, 0), 100, `link ${link}: so are its days`);
  }
  const keptValues = batch.reduce((n, a) => n + (['referrer', 'country', 'browser', 'os', 'device'] as const).reduce((s, d) => s + [...valuesOf(a, d).values()].reduce((t, c) => t + c, 0), 0), 0);
  assert.ok(spy.seen.shed.value > 0, 'value detail was shed');
  assert.equal(keptValues + spy.seen.shed.value, 5 * 1000, 'each of the five values of every click is counted or counted as shed');
  assert.equal(spy.seen.dropped, 0);
});

test('new days past the bound shed only their day detail: the link total still counts', async () => {
  const store = fakeStore();
  const spy = metricsSpy();
  const clock = { value: new Date('2026-03-01T12:00:00.000Z') };
  const clicks = counterWith({ store, bufferMax: 100, now: () => clock.value, metrics: spy.metrics });
  for (let link = 1; spy.seen.dropped === 0; link++) clicks.record(link, from());
  for (let day = 2; day <= 6; day++) {
    clock.value = new Date(`2026-03-0${day}T12:00:00.000Z`);
    clicks.record(1, from());
  }
  await clicks.flush();
  const batch = store.batches[0] ?? [];
  assert.ok(entriesOf(batch) <= 100, `${entriesOf(batch)} entries for a bound of 100`);
  const one = batch.find((a) => a.linkId === 1);
  assert.equal(one?.clicks, 6, 'the total is exact');
  const dayClicks = [...(one?.days.values() ?? [])].reduce((s, d) => s + d.clicks, 0);
  assert.ok(spy.seen.shed.day > 0, 'day detail was shed');
  assert.equal(dayClicks + spy.seen.shed.day, 6, 'every click is in a day count or counted as shed');
});

test('start() flushes on its interval', async (t) => {
  const time = fakeTime(t);
  const store = fakeStore();
  const clicks = counterWith({ store, flushIntervalMs: 20 });
  clicks.start();
  try {
    clicks.record(9, from());
    await time.advance(19);
    assert.equal(store.state.calls, 0, 'nothing written before the interval');
    await time.advance(1);
    assert.equal(store.totals().get(9), 1);
  } finally {
    await clicks.stop(100);
  }
});

test('the interval flush survives store failures and writes everything once the store is back', async (t) => {
  const time = fakeTime(t);
  const store = fakeStore();
  store.state.failing = true;
  const clicks = counterWith({ store, flushIntervalMs: 15 });
  clicks.start();
  try {
    clicks.record(1, from());
    await time.advance(15);
    assert.equal(store.state.calls, 1, 'the first interval tried');
    await time.advance(15);
    assert.ok(store.state.calls >= 2, 'retried');
    assert.equal(clicks.pending(), 1);
    store.state.failing = false;
    await time.advance(15);
    assert.equal(clicks.pending(), 0);
    assert.equal(store.totals().get(1), 1);
  } finally {
    // stop()'s retries wait on the mock timers: with the store down it would never return.
    store.state.failing = false;
    await clicks.stop(100);
  }
});

test('stop() flushes what is pending, even with no timer started', async () => {
  const store = fakeStore();
  const clicks = counterWith({ store });
  clicks.record(1, from());
  clicks.record(2, from());
  await clicks.stop(1000);
  assert.equal(clicks.pending(), 0);
  assert.deepEqual([...store.totals()].sort(), [[1, 1], [2, 1]]);
});

test('stop() retries a failing store until it recovers within the deadline', async (t) => {
  const time = fakeTime(t);
  const store = fakeStore();
  store.state.failing = true;
  const clicks = counterWith({ store });
  clicks.record(1, from());
  let stopped = false;
  void clicks.stop(5000).then(() => (stopped = true));
  await nextTurn();
  await time.advance(200);
  assert.equal(store.state.calls, 2, 'tried, and retried 200 ms later');
  store.state.failing = false; // back before the next retry, well within the deadline
  await time.advance(200);
  assert.ok(stopped, 'stop() returned once a retry went through');
  assert.equal(store.totals().get(1), 1);
  assert.ok(store.state.calls >= 2);
});

test('stop() gives up after its deadline when the store stays down, keeping the count of what is unwritten', async (t) => {
  const time = fakeTime(t);
  const store = fakeStore();
  store.state.failing = true;
  const clicks = counterWith({ store });
  clicks.record(1, from());
  let took: number | null = null;
  void clicks.stop(250).then(() => (took = time.now()));
  await nextTurn();
  // Retried every 200 ms until an attempt fails past the deadline: at 400 ms.
  for (let i = 0; i < 10 && took === null; i++) await time.advance(200);
  assert.ok(took !== null && took >= 250 && took < 2000, `stop took ${took} ms: not before its deadline, not forever`);
  assert.equal(clicks.pending(), 1);
});

test('stop() waits for a flush already in flight, then writes what came after it', async () => {
  const store = fakeStore();
  const open = store.hold();
  const clicks = counterWith({ store });
  clicks.record(1, from());
  const inFlight = clicks.flush();
  clicks.record(2, from());
  const stopping = clicks.stop(2000);
  await nextTurn(); // stop() under way while the first write is
  open();
  await stopping;
  await inFlight;
  assert.deepEqual([...store.totals()].sort(), [[1, 1], [2, 1]]);
});

test('lastFlushAt() moves on each successful flush only', async () => {
  const store = fakeStore();
  const clock = { value: new Date('2026-01-01T00:00:00Z') };
  const clicks = counterWith({ store, now: () => clock.value });
  assert.equal(clicks.lastFlushAt().toISOString(), '2026-01-01T00:00:00.000Z');
  clock.value = new Date('2026-01-01T00:00:05Z');
  clicks.record(1, from());
  store.state.failing = true;
  await assert.rejects(clicks.flush());
  assert.equal(clicks.lastFlushAt().toISOString(), '2026-01-01T00:00:00.000Z');
  store.state.failing = false;
  await clicks.flush();
  assert.equal(clicks.lastFlushAt().toISOString(), '2026-01-01T00:00:05.000Z');
});

test('bots are counted apart: a bot hit adds to botHits and its bot name, never to clicks, values or the last click', async () => {
  const store = fakeStore();
  const clock = { value: new Date('2026-03-01T10:00:00.000Z') };
  const clicks = counterWith({ store, now: () => clock.value });
  clicks.record(1, from('news.example'));
  clock.value = new Date('2026-03-01T11:00:00.000Z');
  clicks.record(1, seenFromPerson(undefined, { userAgent: PREVIEW_BOT_UA }));
  clicks.record(1, seenFromPerson(undefined, { userAgent: 'curl/8.5.0' }));
  clicks.record(2, seenFromPerson(undefined, { userAgent: 'Twitterbot/1.0' }));
  assert.equal(await clicks.flush(), 4, 'hits written: clicks and bot hits');
  const byId = new Map(store.batches[0]?.map((a) => [a.linkId, a]));
  const one = byId.get(1);
  assert.equal(one?.clicks, 1);
  assert.equal(one?.botHits, 2);
  assert.equal(one?.lastClickedAt?.toISOString(), '2026-03-01T10:00:00.000Z', 'a bot is not a click');
  assert.deepEqual([...valuesOf(one, 'referrer')], [['news.example', 1]]);
  assert.deepEqual([...valuesOf(one, 'bot')].sort(), [['Slackbot', 1], ['curl', 1]]);
  assert.deepEqual([...(one?.days.values() ?? [])].map((d) => [d.clicks, d.botHits]), [[1, 2]]);
  const two = byId.get(2);
  assert.equal(two?.clicks, 0);
  assert.equal(two?.lastClickedAt, null);
  assert.deepEqual([...valuesOf(two, 'bot')], [['Twitterbot', 1]]);
  assert.deepEqual([...valuesOf(two, 'browser')], [], 'a bot has no browser in the breakdowns');
});

test('record() only queues: the hit is described after the request, in the next turn of the event loop', async () => {
  const store = fakeStore();
  let described = 0;
  const counting: Pick<VisitorClassifier, 'describe'> = {
    describe: (seen) => {
      described += 1;
      return visitors.describe(seen);
    },
  };
  const clicks = counterWith({ store, visitors: counting });
  for (let i = 0; i < 10; i++) clicks.record(1, from('news.example'));
  assert.equal(described, 0, 'nothing parsed on the request path');
  assert.equal(clicks.pending(), 10, 'but every hit is already pending');
  await nextTurn();
  assert.equal(described, 10);
  // A queue that reaches its bound is drained at once, so a burst cannot hold unbounded memory.
  for (let i = 0; i < 5000; i++) clicks.record(2, from());
  assert.ok(described >= 10 + 4 * QUEUE_MAX, `drained at the bound (${described - 10} of 5000 described)`);
  assert.equal(await clicks.flush(), 5010);
  assert.deepEqual([...store.totals()].sort(), [[1, 10], [2, 5000]]);
});

test("a failed flush's warning says how many hits wait, the failed batch's among them", async () => {
  const store = fakeStore();
  const captured = captureLogger();
  store.state.failing = true;
  const clicks = counterWith({ store, log: captured.log, flushIntervalMs: 5 });
  for (let i = 0; i < 42; i++) clicks.record(1, from());
  clicks.start();
  try {
    for (let i = 0; i < 400 && !captured.text().includes('click flush failed'); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    const line = captured.text().split('\n').find((l) => l.includes('click flush failed'));
    assert.ok(line, 'a failed flush is logged');
    assert.equal((JSON.parse(line) as { pending: number }).pending, 42);
    assert.equal(clicks.pending(), 42);
  } finally {
    store.state.failing = false;
    await clicks.stop(1000);
  }
});

test('a hit that cannot be described is still counted, without its detail', async () => {
  const store = fakeStore();
  const captured = captureLogger();
  const { log } = captured;
  const broken: Pick<VisitorClassifier, 'describe'> = {
    describe: () => {
      throw new Error('parser bug');
    },
  };
  const clicks = counterWith({ store, visitors: broken, log });
  clicks.record(1, from('news.example'));
  clicks.record(1, from());
  assert.equal(await clicks.flush(), 2);
  const one = store.batches[0]?.[0];
  assert.equal(one?.clicks, 2);
  assert.deepEqual([...valuesOf(one, 'referrer')], [[DIRECT, 2]]);
  assert.match(captured.text(), /could not describe a click; counted without its detail/);
});

test('referrerHost() keeps the lower-case host of a Referer URL and calls the rest direct', () => {
  assert.equal(referrerHost(undefined), DIRECT);
  assert.equal(referrerHost(''), DIRECT);
  assert.equal(referrerHost('not a url'), DIRECT);
  assert.equal(referrerHost('https://News.Example.COM/story?id=1'), 'news.example.com');
  assert.equal(referrerHost('android-app://com.example.app/'), 'com.example.app');
  assert.equal(referrerHost('about:blank'), DIRECT);
  assert.equal(referrerHost(`https://${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.example/`), DIRECT, 'over 255 characters');
});

test('a retried batch that lands is reported even when the newer batch after it fails', async () => {
  const clock = { value: new Date('2026-01-01T00:00:00Z') };
  const spy = metricsSpy();
  let calls = 0;
  const store = {
    async applyClicks() {
      calls += 1;
      if (calls !== 2) throw new Error('postgres is down'); // only the retry (second call) gets through
    },
  };
  const clicks = counterWith({ store, metrics: spy.metrics, now: () => clock.value });
  clicks.record(1, from());
  clicks.record(1, from());
  await assert.rejects(clicks.flush());
  clock.value = new Date('2026-01-01T00:00:09Z');
  clicks.record(2, from());
  await assert.rejects(clicks.flush());
  assert.deepEqual(spy.seen.flushed, [2], 'the retried two clicks were written');
  assert.equal(clicks.lastFlushAt().toISOString(), '2026-01-01T00:00:09.000Z');
  assert.equal(clicks.pending(), 1);
});

test('a large buffer is written in transactions of at most maxBatchLinks links; one that fails is retried with its id, then those after it, then newer clicks', async () => {
  const store = fakeStore();
  const spy = metricsSpy();
  let failOnCall = 2;
  const failing = {
    async applyClicks(batch: readonly ClickAggregate[], batchId?: string) {
      if (store.state.calls + 1 === failOnCall) {
        store.state.calls += 1;
        store.ids.push(batchId);
        throw new Error('canceling statement due to statement timeout');
      }
      return store.applyClicks(batch, batchId);
    },
  };
  const clicks = counterWith({ store: failing, metrics: spy.metrics, maxBatchLinks: 5 });
  for (let link = 1; link <= 12; link++) clicks.record(link, from('a.example'));
  await assert.rejects(clicks.flush(), /statement timeout/);
  assert.deepEqual(store.batches.map((b) => b.length), [5], 'the first transaction landed');
  assert.deepEqual(spy.seen.flushed, [5], 'and is reported although the flush failed');
  assert.equal(clicks.pending(), 7, 'the failed transaction and the one after it are kept');
  clicks.record(1, from('a.example'));
  failOnCall = 0;
  assert.equal(await clicks.flush(), 8);
  assert.deepEqual(store.batches.map((b) => b.length), [5, 5, 2, 1], 'the failed one, the one after it, then the newer click');
  assert.equal(store.ids[2], store.ids[1], 'the retry carries the failed transaction\'s id');
  assert.equal(new Set(store.ids).size, 4, 'every other transaction has an id of its own');
  assert.deepEqual([...store.totals()].sort((a, b) => a[0] - b[0]), Array.from({ length: 12 }, (_, i) => [i + 1, i === 0 ? 2 : 1]));
  assert.equal(clicks.pending(), 0);
});

test('between two transactions of a flush the event loop takes a turn (a store whose statements run on this thread must not hold requests for the whole flush)', async () => {
  const events: string[] = [];
  const store = {
    async applyClicks(batch: readonly ClickAggregate[]) {
      events.push(`write ${batch.length}`);
      // A request arriving during this transaction: its socket callback runs at the next turn.
      setImmediate(() => events.push('request'));
    },
  };
  const clicks = counterWith({ store, maxBatchLinks: 2 });
  for (let link = 1; link <= 5; link++) clicks.record(link, from());
  assert.equal(await clicks.flush(), 5);
  assert.deepEqual(events.slice(0, 5), ['write 2', 'request', 'write 2', 'request', 'write 1']);
});

test('the default transaction size bounds a flush of many links', async () => {
  const store = fakeStore();
  const clicks = counterWith({ store, bufferMax: 100_000 });
  for (let link = 1; link <= MAX_BATCH_LINKS + 1; link++) clicks.record(link, from());
  assert.equal(await clicks.flush(), MAX_BATCH_LINKS + 1);
  assert.deepEqual(store.batches.map((b) => b.length), [MAX_BATCH_LINKS, 1]);
});
