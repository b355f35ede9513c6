// The batcher behind coalesced lookups and inserts: one run per turn of the event loop, results and
// errors routed to the call each belongs to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBatcher, type BatcherLimits } from '../../src/core/batcher.ts';
import { ServerBusy } from '../../src/core/errors.ts';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A run that records its inputs and finishes only when the test opens its gate: no timing involved. */
function gatedEcho(): { run: (inputs: readonly number[]) => Promise<number[]>; runs: number[][]; open: () => boolean } {
  const runs: number[][] = [];
  const gates: (() => void)[] = [];
  return {
    runs,
    run: async (inputs) => {
      runs.push([...inputs]);
      await new Promise<void>((resolve) => gates.push(resolve));
      return [...inputs];
    },
    open: () => {
      const gate = gates.shift();
      gate?.();
      return gate !== undefined;
    },
  };
}

function busyLimits(maxQueued: number, maxWaitMs: number): BatcherLimits {
  return { maxQueued, maxWaitMs, overloaded: (reason) => new ServerBusy(`batcher refused a call: ${reason}`) };
}

/** 'pending' if the promise has not settled by the next turn, else its value or its error. */
async function settledByNextTurn(promise: Promise<unknown>): Promise<unknown> {
  return Promise.race([promise.catch((err: unknown) => err), turn().then(() => 'pending')]);
}

test('calls made in the same turn share one run, each getting its own result in order', async () => {
  const runs: number[][] = [];
  const double = createBatcher<number, number>(async (inputs) => {
    runs.push([...inputs]);
    return inputs.map((n) => n * 2);
  }, 100);
  assert.deepEqual(await Promise.all([1, 2, 3].map(double)), [2, 4, 6]);
  assert.deepEqual(runs, [[1, 2, 3]]);
  assert.equal(await double(5), 10);
  assert.equal(runs.length, 2, 'a later call is a run of its own');
});

test('calls from separate callbacks of one turn share a run by default; with process.nextTick each callback its own, sent before the turn goes on', async () => {
  for (const [label, schedule, expected] of [
    ['setImmediate', undefined, [[1, 2, 3, 4]]],
    ['nextTick', (dispatch: () => void) => process.nextTick(dispatch), [[1, 2], [3, 4]]],
  ] as const) {
    const runs: number[][] = [];
    const echo = createBatcher<number, number>(async (inputs) => {
      runs.push([...inputs]);
      return [...inputs];
    }, 100, Number.POSITIVE_INFINITY, undefined, { ...(schedule === undefined ? {} : { schedule }) });
    const calls: Promise<number>[] = [];
    // Two callbacks of one phase of the loop, as two requests' socket callbacks would be: immediates
    // queued together run in the same check phase (timers may not: two of 0 ms can fall in two turns).
    let runsSeenByTheSecond = -1;
    await new Promise<void>((resolve) => {
      setImmediate(() => calls.push(echo(1), echo(2)));
      setImmediate(() => {
        runsSeenByTheSecond = runs.length;
        calls.push(echo(3), echo(4));
        resolve();
      });
    });
    assert.deepEqual(await Promise.all(calls), [1, 2, 3, 4], label);
    assert.deepEqual(runs, expected, label);
    assert.equal(runsSeenByTheSecond, schedule === undefined ? 0 : 1, `${label}: the first callback's calls had gone out before the second callback ran`);
  }
});

test('batches are split at maxBatch', async () => {
  const sizes: number[] = [];
  const echo = createBatcher<number, number>(async (inputs) => {
    sizes.push(inputs.length);
    return [...inputs];
  }, 4);
  await Promise.all(Array.from({ length: 10 }, (_, i) => echo(i)));
  assert.deepEqual(sizes, [4, 4, 2]);
});

test('an Error result fails only its own call; a failed run fails every call of the batch', async () => {
  const check = createBatcher<number, number>(async (inputs) => inputs.map((n) => (n < 0 ? new Error(`negative ${n}`) : n)), 10);
  const results = await Promise.allSettled([check(1), check(-2), check(3)]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  const broken = createBatcher<number, number>(async () => {
    throw new Error('database down');
  }, 10);
  const all = await Promise.allSettled([broken(1), broken(2)]);
  assert.ok(all.every((r) => r.status === 'rejected' && /database down/.test(String(r.reason))));
});

test('null is a result (a code not found), not a missing one', async () => {
  const find = createBatcher<string, string | null>(async (codes) => codes.map((c) => (c === 'known' ? 'row' : null)), 10);
  assert.deepEqual(await Promise.all([find('known'), find('other')]), ['row', null]);
});

test('at most maxConcurrent runs are in flight; calls that arrive meanwhile go out together in the next run', async () => {
  let inFlight = 0;
  let most = 0;
  const sizes: number[] = [];
  const gates: (() => void)[] = [];
  const slow = createBatcher<number, number>(
    async (inputs) => {
      inFlight++;
      most = Math.max(most, inFlight);
      sizes.push(inputs.length);
      // Each run waits until the test lets it finish: no timing involved.
      await new Promise<void>((resolve) => gates.push(resolve));
      inFlight--;
      return [...inputs];
    },
    2,
    2,
  );
  const first = Array.from({ length: 4 }, (_, i) => slow(i));
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(inFlight, 2, 'two runs of two started');
  // These arrive while both runs are busy.
  const later = Array.from({ length: 4 }, (_, i) => slow(10 + i));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(inFlight, 2, 'no third run while two are in flight');
  while (gates.length > 0 || inFlight > 0) {
    gates.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.deepEqual(await Promise.all([...first, ...later]), [0, 1, 2, 3, 10, 11, 12, 13]);
  assert.equal(most, 2);
  assert.deepEqual(sizes, [2, 2, 2, 2]);
});

// Without a deadline this call would wait for as long as the running batch takes; the test's own
// timeout is what fails it on a batcher that has none.
test('a queued call past its deadline is rejected with server_busy and never runs', { timeout: 10_000 }, async () => {
  const echo = gatedEcho();
  const call = createBatcher<number, number>(echo.run, 10, 1, busyLimits(100, 20));
  const first = call(1);
  await turn();
  assert.deepEqual(echo.runs, [[1]], 'the first call is running and holds the only place');
  const late = call(2);
  await assert.rejects(late, (err: unknown) => err instanceof ServerBusy && err.status === 503 && err.code === 'server_busy');
  echo.open();
  assert.equal(await first, 1);
  await turn();
  assert.deepEqual(echo.runs, [[1]], 'the refused call never ran');
  // The batcher goes on serving once a place is free.
  const next = call(3);
  while (echo.runs.length < 2) await turn();
  echo.open();
  assert.equal(await next, 3);
});

test('past the queue bound a call is rejected at once', async () => {
  const echo = gatedEcho();
  const call = createBatcher<number, number>(echo.run, 10, 1, busyLimits(2, 60_000));
  const running = call(0);
  await turn();
  const queued = [call(1), call(2)];
  const refused = call(3);
  const outcome = await settledByNextTurn(refused);
  assert.ok(outcome instanceof ServerBusy, `the third waiting call is refused before any run finishes (got ${String(outcome)})`);
  assert.equal(outcome.code, 'server_busy');
  while (echo.open() || echo.runs.length < 2) await turn();
  assert.deepEqual(await Promise.all([running, ...queued]), [0, 1, 2]);
  assert.deepEqual(echo.runs, [[0], [1, 2]], 'the refused call never ran');
});

test('items dispatched in order under a backlog', async () => {
  const echo = gatedEcho();
  const call = createBatcher<number, number>(echo.run, 100, 1, busyLimits(10_000, 60_000));
  const total = 3000;
  const first = call(0);
  await turn();
  // A backlog far past one batch, taken from the front run after run (across the queue's compaction).
  const rest = Array.from({ length: total - 1 }, (_, i) => call(i + 1));
  while (echo.runs.flat().length < total || echo.open()) {
    echo.open();
    await turn();
  }
  const expected = Array.from({ length: total }, (_, i) => i);
  assert.deepEqual(echo.runs.flat(), expected, 'every input ran once, in the order of the calls');
  assert.ok(echo.runs.every((inputs) => inputs.length <= 100));
  assert.deepEqual(await Promise.all([first, ...rest]), expected, 'each call got its own result');
});

test('with spareAfterMs, calls that arrive while a quick run is in flight wait for it and go out together in the next', async () => {
  const echo = gatedEcho();
  const call = createBatcher<number, number>(echo.run, 100, 4, undefined, { spareAfterMs: 60_000 });
  const first = call(0);
  await turn();
  // Each in a turn of its own: without the spare rule each would start a run of its own.
  const later: Promise<number>[] = [];
  for (let i = 1; i <= 3; i++) {
    later.push(call(i));
    await turn();
  }
  assert.deepEqual(echo.runs, [[0]], 'one run in flight, the others wait');
  while (echo.open() || echo.runs.length < 2) await turn();
  echo.open();
  assert.deepEqual(await Promise.all([first, ...later]), [0, 1, 2, 3]);
  assert.deepEqual(echo.runs, [[0], [1, 2, 3]], 'the three that waited went out in one run');
});

test('with spareAfterMs, a run in flight that long no longer holds back the calls waiting: a spare run starts, up to maxConcurrent', { timeout: 10_000 }, async () => {
  const echo = gatedEcho();
  const call = createBatcher<number, number>(echo.run, 100, 2, undefined, { spareAfterMs: 30 });
  const started = performance.now();
  const first = call(0);
  await turn();
  const second = call(1);
  while (echo.runs.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(performance.now() - started >= 29, 'not before the first had run 30 ms');
  assert.deepEqual(echo.runs, [[0], [1]], 'the waiting call got a run of its own while the first still ran');
  // Both places taken: a third waits for one, however long they run.
  const third = call(2);
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.deepEqual(echo.runs, [[0], [1]], 'no third run past maxConcurrent');
  while (echo.open() || echo.runs.length < 3) await turn();
  echo.open();
  assert.deepEqual(await Promise.all([first, second, third]), [0, 1, 2]);
});
