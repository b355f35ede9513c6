// The `url` field (README, "Errors": invalid_url): each rule of normaliseTargetUrl on its own, with the error code a client sees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidRequest } from '../../src/core/errors.ts';
import { checkTargetUrl, createNameResolver, MAX_URL_LENGTH, normaliseTargetUrl, targetPolicyFor, type TargetUrlPolicy } from '../../src/url/target-url.ts';

const policy: TargetUrlPolicy = { ownHosts: ['sho.rt', 'localhost:8080'], blockedDomains: ['evil.example', 'xn--bcher-kva.example'] };
const ok = (raw: string, p: TargetUrlPolicy = policy): string => normaliseTargetUrl(raw, p);

function rejects(raw: string, code: 'invalid_url' | 'url_blocked', p: TargetUrlPolicy = policy): void {
  assert.throws(
    () => normaliseTargetUrl(raw, p),
    (err: unknown) => err instanceof InvalidRequest && err.status === 400 && err.code === code,
    `${JSON.stringify(raw.slice(0, 80))} should be rejected as ${code}`,
  );
}

test('absolute http and https URLs are accepted and normalised by the WHATWG parser', () => {
  assert.equal(ok('https://example.com'), 'https://example.com/');
  assert.equal(ok('HTTP://EXAMPLE.COM:80/a/../b?x=1#frag'), 'http://example.com/b?x=1#frag');
  assert.equal(ok('https://example.com:8443/p'), 'https://example.com:8443/p');
});

test('surrounding whitespace is trimmed; tabs and newlines inside are dropped', () => {
  assert.equal(ok('  https://example.com/a \n'), 'https://example.com/a');
  assert.equal(ok('https://exa\tmple.com/p\nath'), 'https://example.com/path');
});

test('schemes other than http and https are rejected', () => {
  for (const raw of ['ftp://example.com/f', 'javascript:alert(1)', 'data:text/html,<b>x</b>', 'file:///etc/passwd', 'mailto:a@example.com', 'ws://example.com/'])
    rejects(raw, 'invalid_url');
});

test('relative, empty and unparseable URLs are rejected', () => {
  for (const raw of ['', '   ', '/path/only', '//example.com/x', 'example.com', 'https://', 'http://exa mple.com/', 'https://example.com:99999/', 'https://[::1/'])
    rejects(raw, 'invalid_url');
});

test(`a URL of ${MAX_URL_LENGTH} characters is accepted, one more is rejected`, () => {
  const base = 'https://example.com/';
  const exact = base + 'a'.repeat(MAX_URL_LENGTH - base.length);
  assert.equal(ok(exact), exact);
  rejects(exact + 'a', 'invalid_url');
});

test('the length limit also applies after normalisation (percent-encoding grows the URL)', () => {
  // 400 "ü" → 2400 characters once encoded as %C3%BC, though the input is under 500.
  const raw = `https://example.com/${'ü'.repeat(400)}`;
  assert.ok(raw.length < MAX_URL_LENGTH);
  rejects(raw, 'invalid_url');
});

test('user-info (user:pass@, user@, :pass@) is rejected', () => {
  for (const raw of ['https://user:pass@example.com/', 'https://user@example.com/', 'https://:secret@example.com/', 'http://a%40b:c@example.com/'])
    rejects(raw, 'invalid_url');
});

test("the service's own host is rejected in any case, with a trailing dot, on any port or scheme", () => {
  for (const raw of ['http://sho.rt/abcdef', 'https://SHO.RT/abcdef', 'http://sho.rt./abcdef', 'http://sho.rt:8443/x', 'http://sh%6F.rt/x'])
    rejects(raw, 'invalid_url');
  // An own host configured with a port is refused on every port (and localhost is loopback anyway).
  rejects('http://LOCALHOST:8080/abc', 'invalid_url');
  rejects('http://localhost:9090/abc', 'invalid_url');
  // A host that merely contains the own host is someone else's.
  assert.equal(ok('https://notsho.rt/x'), 'https://notsho.rt/x');
  assert.equal(ok('https://sho.rt.example/x'), 'https://sho.rt.example/x');
});

test('blocked domains are rejected with their subdomains, in any case, with a trailing dot', () => {
  for (const raw of ['https://evil.example/x', 'https://www.EVIL.example/x', 'https://a.b.evil.example/', 'https://evil.example./x', 'http://evil.example:8080/'])
    rejects(raw, 'url_blocked');
});

test('a domain that only ends with a blocked name is not blocked', () => {
  assert.equal(ok('https://notevil.example/'), 'https://notevil.example/');
  assert.equal(ok('https://evil.example.org/'), 'https://evil.example.org/');
});

test('international domain names are accepted as punycode, and blocked by their punycode name', () => {
  assert.equal(ok('https://bücher.de/straße?q=ü'), 'https://xn--bcher-kva.de/stra%C3%9Fe?q=%C3%BC');
  assert.equal(ok('https://例え.jp/パス'), 'https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9');
  rejects('https://www.bücher.example/', 'url_blocked');
});

test('an empty policy blocks nothing but still enforces the URL rules', () => {
  const open: TargetUrlPolicy = { ownHosts: [], blockedDomains: [] };
  assert.equal(ok('http://sho.rt/x', open), 'http://sho.rt/x');
  rejects('ftp://sho.rt/x', 'invalid_url', open);
});

// Redirect loops: a target that is this service, in any spelling, would redirect to itself forever.
const selfPolicy: TargetUrlPolicy = {
  ownHosts: ['sho.rt'],
  ownAddresses: () => ['10.1.2.3', 'fd00::2'],
  blockedDomains: [],
  resolve: async (name) => ({ 'loop.example': ['203.0.113.9', '127.0.0.1'], 'lan.example': ['10.1.2.3'], 'mapped.example': ['::ffff:10.1.2.3'] })[name] ?? [],
};

async function refusedAsSelf(raw: string, p: TargetUrlPolicy = selfPolicy): Promise<void> {
  await assert.rejects(
    checkTargetUrl(raw, p),
    (err: unknown) => err instanceof InvalidRequest && err.code === 'invalid_url' && /must not point at this shortener/.test(err.detail ?? ''),
    `${raw} should be refused as pointing at this service`,
  );
}

test('loopback targets are refused in every spelling: IPv4, IPv6, mapped, decimal, hex, octal, short', async () => {
  for (const raw of [
    'http://127.0.0.1:8080/x',
    'http://127.9.9.9/x',
    'http://[::1]:8080/x',
    'http://[0:0:0:0:0:0:0:1]/x',
    'http://[::ffff:127.0.0.1]:8080/x',
    'http://[::127.0.0.1]/x',
    'http://2130706433/x',
    'http://0x7f000001/x',
    'http://0x7f.0.0.1/x',
    'http://0177.0.0.1/x',
    'http://127.1/x',
    'http://0.0.0.0:8080/x',
    'http://[::]/x',
  ])
    await refusedAsSelf(raw);
});

test('localhost is refused in any case, with a trailing dot, on any port, and every name under it', async () => {
  for (const raw of ['http://localhost:8080/x', 'http://localhost.:8080/x', 'http://LocalHost/x', 'https://localhost:443/x', 'http://curt.localhost/x'])
    await refusedAsSelf(raw);
});

test("the public host is refused in any case, with a trailing dot, with or without the default port", async () => {
  for (const raw of ['http://sho.rt/abc', 'http://SHO.RT:80/abc', 'https://sho.rt.:443/abc', 'http://sho.rt:8080/abc']) await refusedAsSelf(raw);
});

test('the addresses the service listens on are refused, also as IPv4-mapped IPv6', async () => {
  for (const raw of ['http://10.1.2.3:8080/x', 'http://[::ffff:10.1.2.3]/x', 'http://[::ffff:a01:203]/x', 'http://167838211/x', 'http://[fd00::2]/x'])
    await refusedAsSelf(raw);
  assert.equal(await checkTargetUrl('http://10.1.2.4/x', selfPolicy), 'http://10.1.2.4/x');
});

test("a name that resolves to an address of this service is refused, and the detail does not say which (the service's addresses are internal)", async () => {
  await refusedAsSelf('http://loop.example/x');
  await refusedAsSelf('http://LAN.example./x');
  await refusedAsSelf('http://mapped.example/x');
  await assert.rejects(checkTargetUrl('http://loop.example/x', selfPolicy), (err: Error) => /loop\.example resolves to an address of this service/.test(err.message) && !/127\.0\.0\.1/.test(err.message));
  await assert.rejects(checkTargetUrl('http://LAN.example./x', selfPolicy), (err: Error) => !/10\.1\.2\.3/.test(err.message));
});

test('a name that does not resolve (yet) is accepted: it may be a domain being set up', async () => {
  assert.equal(await checkTargetUrl('https://not-yet.example/launch', selfPolicy), 'https://not-yet.example/launch');
});

test('a lookup that never answers is waited for a bounded time, then the name counts as unresolved', async () => {
  const resolve = createNameResolver({ timeoutMs: 20, lookupAll: () => new Promise(() => undefined) });
  assert.deepEqual(await resolve('slow.example'), []);
  assert.equal(await checkTargetUrl('https://slow.example/x', { ...selfPolicy, resolve }), 'https://slow.example/x');
});

/**
 * A resolver whose lookups answer when the test says (`answer`), except the names of `atOnce`; `asked`:
 * the names looked up, in order.
 */
function heldResolver(timeoutMs: number, atOnce: Record<string, string[]> = {}) {
  const asked: string[] = [];
  const answers = new Map<string, (found: string[]) => void>();
  const resolve = createNameResolver({
    timeoutMs,
    lookupAll: (name) => {
      asked.push(name);
      const found = atOnce[name];
      return found === undefined ? new Promise((done) => answers.set(name, done)) : Promise.resolve(found);
    },
  });
  return { resolve, asked, answer: (name: string, found: string[]) => answers.get(name)?.(found) };
}

test('lookups run two at a time: a third name waits for a slot, and is not looked up once its caller gave up', async () => {
  const { resolve, asked, answer } = heldResolver(50);
  // Two lookups that never end hold both slots; the third caller waits, then gives up unresolved.
  const hanging = [resolve('a.example'), resolve('b.example')];
  assert.deepEqual(await resolve('c.example'), []);
  assert.deepEqual(await Promise.all(hanging), [[], []]);
  assert.deepEqual(asked, ['a.example', 'b.example']);
  // A slot freed: the next name is looked up and its answer used; the abandoned third never is.
  answer('a.example', ['192.0.2.1']);
  await new Promise((done) => setImmediate(done));
  const pending = resolve('d.example');
  answer('d.example', ['127.0.0.1']);
  assert.deepEqual(await pending, ['127.0.0.1']);
  assert.deepEqual(asked, ['a.example', 'b.example', 'd.example']);
});

test('when both slots are held by lookups past their timeout, a new name does not wait behind them', async () => {
  const clock = { ms: 0 };
  const asked: string[] = [];
  const resolve = createNameResolver({
    timeoutMs: 4000,
    now: () => clock.ms,
    lookupAll: (name) => {
      asked.push(name);
      return new Promise(() => undefined);
    },
  });
  // Two names under a zone that never answers: they hold both slots long after their callers gave up.
  const hanging = [resolve('a.slow.example'), resolve('b.slow.example')];
  clock.ms += 4000;
  // A real timer still bounds the hanging callers; the fake clock says the slots are stuck. Answered
  // at once, the third caller comes back before the two hanging ones' 4 s timers end; had it waited
  // for its own 4 s timeout, it would come back after theirs (no stopwatch: a loaded machine can
  // stall for longer than any fixed bound).
  const third = resolve('c.example');
  const first = await Promise.race([third.then(() => 'the third caller'), Promise.all(hanging).then(() => 'the hanging callers')]);
  assert.equal(first, 'the third caller', 'answered at once, not after the 4 s timeout');
  assert.deepEqual(await third, []);
  assert.deepEqual(asked, ['a.slow.example', 'b.slow.example'], 'and not queued to be looked up later');
  assert.deepEqual(await Promise.all(hanging), [[], []], 'the hanging callers still get their bounded answer');
});

test('callers of one name share its lookup: a burst of creations to a new site asks the resolver once', async () => {
  const { resolve, asked, answer } = heldResolver(5000);
  const burst = Array.from({ length: 20 }, () => resolve('new.example'));
  const other = resolve('other.example');
  answer('new.example', ['192.0.2.9']);
  answer('other.example', ['192.0.2.10']);
  assert.deepEqual(await Promise.all(burst), Array.from({ length: 20 }, () => ['192.0.2.9']));
  assert.deepEqual(await other, ['192.0.2.10']);
  assert.deepEqual(asked, ['new.example', 'other.example'], 'one lookup of new.example, the other name in the second slot');
});

test("a shared lookup is given up only when its last caller gives up; a caller's wait is its own", async () => {
  const { resolve, asked, answer } = heldResolver(300, { 'q.example': ['192.0.2.5'] });
  // Both slots held; q.example waits in the queue for its two callers, the second 100 ms after the first.
  const hanging = [resolve('a.example'), resolve('b.example')];
  const first = resolve('q.example');
  await new Promise((done) => setTimeout(done, 100));
  const second = resolve('q.example');
  assert.deepEqual(await first, [], 'the first caller waited its 300 ms');
  // Still before the second caller's timeout: timers fire in the order they are due, and what the
  // first one's resolution sets off here, down to the second caller's answer, runs before the next.
  answer('a.example', ['192.0.2.1']);
  assert.deepEqual(await second, ['192.0.2.5'], 'the second caller kept the lookup alive, and got its answer when a slot freed');
  assert.deepEqual(asked, ['a.example', 'b.example', 'q.example']);
  answer('b.example', []);
  await Promise.all(hanging);
});

test('answers are reused for a minute, found or not found; a failing resolver is asked again', async () => {
  const clock = { ms: 0 };
  const asked: string[] = [];
  const resolve = createNameResolver({
    now: () => clock.ms,
    lookupAll: async (name) => {
      asked.push(name);
      if (name === 'broken.example') throw Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' });
      if (name === 'gone.example') throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
      return ['192.0.2.7'];
    },
  });
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await resolve('site.example'), ['192.0.2.7']);
    assert.deepEqual(await resolve('gone.example'), []);
    assert.deepEqual(await resolve('broken.example'), []);
  }
  assert.deepEqual(asked, ['site.example', 'gone.example', 'broken.example', 'broken.example', 'broken.example']);
  clock.ms += 60_001;
  await resolve('site.example');
  assert.equal(asked.filter((name) => name === 'site.example').length, 2, 'looked up again once the answer is a minute old');
});

test('a failed lookup (NXDOMAIN, no network) counts as unresolved', async () => {
  const resolve = createNameResolver({ lookupAll: () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })) });
  assert.deepEqual(await resolve('gone.example'), []);
});

test("the system resolver finds localhost's loopback address from the hosts file, without the internet", async () => {
  const addresses = await createNameResolver()('localhost');
  assert.ok(addresses.some((address) => address === '127.0.0.1' || address === '::1'), `localhost resolved to ${addresses.join(', ')}`);
});

test("a URL service listening on 0.0.0.0 refuses each of this machine's interface addresses", async () => {
  const policy = targetPolicyFor({ publicBaseUrl: 'https://sho.rt', listenHost: '0.0.0.0', blockedDomains: [] });
  const external = Object.values((await import('node:os')).networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .filter((entry) => !entry.internal);
  for (const entry of external) await refusedAsSelf(`http://${entry.family === 'IPv6' ? `[${entry.address}]` : entry.address}:8080/x`, policy);
  await refusedAsSelf('http://sho.rt/x', policy);
  assert.equal(await checkTargetUrl('https://example.com/', policy), 'https://example.com/');
});
