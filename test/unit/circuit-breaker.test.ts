import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker, CircuitOpenError, type BreakerState } from '../../src/core/circuit-breaker.ts';

function setup() {
  let now = 0;
  const transitions: string[] = [];
  const breaker = new CircuitBreaker({
    name: 'dep',
    failureThreshold: 3,
    resetTimeoutMs: 1000,
    now: () => now,
    onStateChange: (_name, from: BreakerState, to: BreakerState) => transitions.push(`${from}->${to}`),
  });
  return { breaker, transitions, advance: (ms: number) => (now += ms) };
}

const fail = () => Promise.reject(new Error('boom'));
const succeed = () => Promise.resolve('ok');

test('opens after consecutive failures and then fails fast without calling', async () => {
  const { breaker, transitions } = setup();
  for (let i = 0; i < 3; i++) await assert.rejects(breaker.run(fail), /boom/);
  assert.equal(breaker.state, 'open');
  let called = false;
  await assert.rejects(
    breaker.run(async () => {
      called = true;
      return 1;
    }),
    CircuitOpenError,
  );
  assert.equal(called, false);
  assert.deepEqual(transitions, ['closed->open']);
});

test('a success between failures resets the count', async () => {
  const { breaker } = setup();
  await assert.rejects(breaker.run(fail));
  await assert.rejects(breaker.run(fail));
  await breaker.run(succeed);
  await assert.rejects(breaker.run(fail));
  await assert.rejects(breaker.run(fail));
  assert.equal(breaker.state, 'closed');
});

test('half-open lets one trial through: success closes, failure reopens', async () => {
  const { breaker, transitions, advance } = setup();
  for (let i = 0; i < 3; i++) await assert.rejects(breaker.run(fail));
  advance(1000);
  assert.equal(breaker.state, 'half_open');
  await assert.rejects(breaker.run(fail));
  assert.equal(breaker.state, 'open');
  advance(1000);
  let release: (v: string) => void = () => undefined;
  const trial = breaker.run(() => new Promise<string>((resolve) => (release = resolve)));
  assert.equal(breaker.allows(), false, 'only one trial at a time');
  release('ok');
  assert.equal(await trial, 'ok');
  assert.equal(breaker.state, 'closed');
  assert.deepEqual(transitions, ['closed->open', 'open->half_open', 'half_open->open', 'open->half_open', 'half_open->closed']);
});

test('a failure reported while open (a background probe) restarts the wait, so no request becomes the trial', async () => {
  const { breaker, transitions, advance } = setup();
  for (let i = 0; i < 3; i++) breaker.recordFailure();
  advance(900);
  breaker.recordFailure();
  advance(900);
  assert.equal(breaker.state, 'open', 'still open 1.8 s after opening: the probe failed 0.9 s ago');
  advance(100);
  assert.equal(breaker.state, 'half_open');
  breaker.recordSuccess();
  assert.deepEqual(transitions, ['closed->open', 'open->half_open', 'half_open->closed']);
});

test('a call refused while open is reported', async () => {
  let rejected = 0;
  const breaker = new CircuitBreaker({ name: 'dep', failureThreshold: 1, resetTimeoutMs: 1000, now: () => 0, onRejected: () => (rejected += 1) });
  await assert.rejects(breaker.run(fail));
  await assert.rejects(breaker.run(succeed), CircuitOpenError);
  assert.equal(rejected, 1);
});

test('isFailure: an error that is an answer passes through, resets the count and closes a half-open breaker', async () => {
  let now = 0;
  class Answer extends Error {}
  const breaker = new CircuitBreaker({ name: 'dep', failureThreshold: 2, resetTimeoutMs: 1000, now: () => now, isFailure: (err) => !(err instanceof Answer) });
  const answer = () => Promise.reject(new Answer('409 taken'));
  await assert.rejects(breaker.run(fail), /boom/);
  await assert.rejects(breaker.run(answer), Answer, 'the answer reaches the caller unchanged');
  await assert.rejects(breaker.run(fail), /boom/);
  assert.equal(breaker.state, 'closed', 'the answer in between reset the count of failures');
  await assert.rejects(breaker.run(fail));
  assert.equal(breaker.state, 'open');
  for (let i = 0; i < 5; i++) await assert.rejects(breaker.run(answer), CircuitOpenError, 'open: not called at all');
  now += 1000;
  await assert.rejects(breaker.run(answer), Answer);
  assert.equal(breaker.state, 'closed', 'an answer to the half-open trial shows the dependency is up');
});

test('a half-open trial ends even when deciding its outcome throws: the next call is the next trial, not a rejection for good', async () => {
  let now = 0;
  let isFailureThrows = false;
  const breaker = new CircuitBreaker({
    name: 'dep',
    failureThreshold: 1,
    resetTimeoutMs: 1000,
    now: () => now,
    isFailure: () => {
      if (isFailureThrows) throw new Error('isFailure broke');
      return true;
    },
  });
  await assert.rejects(breaker.run(fail), /boom/);
  now += 1000;
  assert.equal(breaker.state, 'half_open');
  isFailureThrows = true;
  await assert.rejects(breaker.run(fail), /isFailure broke/);
  assert.equal(breaker.allows(), true, 'the trial is over: another call may be the trial');
  isFailureThrows = false;
  assert.equal(await breaker.run(succeed), 'ok');
  assert.equal(breaker.state, 'closed');
});

test('admit and finish are run() in two halves: one trial while half-open, refusals reported, the trial ended by finish', () => {
  let rejected = 0;
  let now = 0;
  const breaker = new CircuitBreaker({ name: 'dep', failureThreshold: 2, resetTimeoutMs: 1000, now: () => now, onRejected: () => (rejected += 1) });
  const first = breaker.admit();
  const second = breaker.admit();
  assert.equal(first, 'call');
  assert.equal(second, 'call', 'closed: every call is admitted');
  breaker.finish('call', true, new Error('boom'));
  assert.equal(breaker.state, 'closed', 'one failure of two');
  breaker.finish('call', true, new Error('boom'));
  assert.equal(breaker.state, 'open', 'each admitted call counts its own failure');
  assert.equal(breaker.admit(), undefined);
  assert.equal(rejected, 1);
  now += 1000;
  assert.equal(breaker.admit(), 'trial');
  assert.equal(breaker.admit(), undefined, 'one trial at a time');
  assert.equal(rejected, 2);
  breaker.finish('trial', false);
  assert.equal(breaker.state, 'closed');
  assert.equal(breaker.admit(), 'call');
});

test('finish ends the trial even when isFailure throws', () => {
  let now = 0;
  const breaker = new CircuitBreaker({
    name: 'dep',
    failureThreshold: 1,
    resetTimeoutMs: 1000,
    now: () => now,
    isFailure: (err) => {
      if ((err as Error).message === 'odd') throw new Error('isFailure broke');
      return true;
    },
  });
  breaker.recordFailure();
  now += 1000;
  assert.equal(breaker.admit(), 'trial');
  assert.throws(() => breaker.finish('trial', true, new Error('odd')), /isFailure broke/);
  assert.equal(breaker.allows(), true, 'the trial is over: another may be tried');
});
