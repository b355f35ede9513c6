// Webhooks end to end on real PostgreSQL: endpoints through the API, events written with the changes,
// delivered by the dispatcher to a real HTTP receiver that checks the signatures, with failures,
// hangs, retries, auto-disabling, a restart and two dispatchers on one database.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPgPool, pgRunner } from '../../src/core/postgres.ts';
import { createPgWebhookStore } from '../../src/storage/postgres/pg-webhook-store.ts';
import { createWebhookDispatcher, type WebhookDispatcherOptions } from '../../src/url/webhook-dispatcher.ts';
import { verifyWebhook } from '../../src/url/webhook-signature.ts';
import { until } from '../support/fault-probes.ts';
import { testLogger } from '../support/log.ts';
import { buildTestUrlService, PUBLIC_BASE_URL, type TestUrlService } from '../support/url-service.ts';
import { PERSON } from '../support/user-agents.ts';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../support/webhook-receiver.ts';

const log = testLogger('webhooks');

interface CreatedEndpoint {
  id: number;
  secret: string;
  state: string;
}

describe('webhooks', () => {
  let service: TestUrlService;
  const receivers: WebhookReceiver[] = [];
  const stops: (() => Promise<void>)[] = [];

  before(async () => {
    service = await buildTestUrlService('webhooks');
  });
  after(async () => {
    for (const stop of stops) await stop();
    for (const r of receivers) await r.close();
    await service.close();
  });

  async function receiver(): Promise<WebhookReceiver> {
    const r = await startWebhookReceiver();
    receivers.push(r);
    return r;
  }

  async function addEndpoint(headers: { authorization: string }, url: string, events: string[]): Promise<CreatedEndpoint> {
    const res = await service.app.inject({ method: 'POST', url: '/webhooks', headers, payload: { url, events } });
    assert.equal(res.statusCode, 201, res.body);
    return res.json<CreatedEndpoint>();
  }

  /** A dispatcher on the service's database with test timings; stopped after the suite. */
  function dispatcher(options: Partial<WebhookDispatcherOptions> = {}) {
    const d = createWebhookDispatcher({
      store: service.webhookStore,
      log,
      publicBaseUrl: PUBLIC_BASE_URL,
      allowPrivate: true,
      pollMs: 20,
      timeoutMs: 1000,
      backoffMs: [50, 100, 150, 200],
      jitter: 0,
      ...options,
    });
    stops.push(() => d.stop(0));
    return d;
  }

  /** Runs the dispatcher until nothing is due. */
  async function drain(d: { runOnce(): Promise<number> }): Promise<void> {
    while ((await d.runOnce()) > 0);
  }

  function assertSigned(hook: ReceivedWebhook, secret: string): void {
    const headers = { id: String(hook.headers['webhook-id']), timestamp: String(hook.headers['webhook-timestamp']), signature: String(hook.headers['webhook-signature']) };
    assert.match(headers.signature, /^v1,[A-Za-z0-9+/]+=*$/);
    assert.ok(verifyWebhook(secret, headers, hook.body), 'the signature verifies with the secret');
    assert.ok(!verifyWebhook(secret, headers, `${hook.body} `), 'and not for another body');
    assert.ok(Math.abs(Number(headers.timestamp) - Date.now() / 1000) < 60);
  }

  async function createLink(headers: { authorization: string }, url = 'https://example.com/a'): Promise<string> {
    const res = await service.app.inject({ method: 'POST', url: '/urls', headers, payload: { url } });
    assert.equal(res.statusCode, 201, res.body);
    return res.json<{ short_code: string }>().short_code;
  }

  async function deliveries(headers: { authorization: string }, id: number) {
    const res = await service.app.inject({ method: 'GET', url: `/webhooks/${id}/deliveries`, headers });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ items: { event_id: string; type: string; state: string; attempts: number; last_status: number | null; last_error: string | null }[] }>().items;
  }

  test('an endpoint is managed per key: the secret is shown once, other keys see nothing, the admin sees all', async () => {
    const alice = await service.userKey('alice');
    const bob = await service.userKey('bob');
    const created = await addEndpoint(alice, 'https://hooks.example.com/in', ['link.created']);
    assert.match(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(created.secret.slice(6), 'base64').length, 32);
    assert.equal(created.state, 'active');

    const mine = await service.app.inject({ method: 'GET', url: '/webhooks', headers: alice });
    assert.equal(mine.json<{ items: unknown[] }>().items.length, 1);
    assert.doesNotMatch(mine.body, /whsec_/, 'the secret is never shown again');
    const one = await service.app.inject({ method: 'GET', url: `/webhooks/${created.id}`, headers: alice });
    assert.equal(one.statusCode, 200);
    assert.doesNotMatch(one.body, /whsec_/);

    assert.equal((await service.app.inject({ method: 'GET', url: `/webhooks/${created.id}`, headers: bob })).json<{ code: string }>().code, 'webhook_not_found');
    assert.equal((await service.app.inject({ method: 'DELETE', url: `/webhooks/${created.id}`, headers: bob })).statusCode, 404);
    assert.equal((await service.app.inject({ method: 'GET', url: '/webhooks', headers: bob })).json<{ items: unknown[] }>().items.length, 0);
    const all = await service.app.inject({ method: 'GET', url: '/webhooks', headers: service.admin });
    assert.ok(all.json<{ items: { id: number }[] }>().items.some((e) => e.id === created.id));
    assert.equal((await service.app.inject({ method: 'GET', url: '/webhooks' })).statusCode, 401, 'a key is required');

    const patched = await service.app.inject({ method: 'PATCH', url: `/webhooks/${created.id}`, headers: alice, payload: { events: ['link.deleted', 'link.clicked'], is_active: false } });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.deepEqual(patched.json<{ events: string[] }>().events, ['link.deleted', 'link.clicked']);
    assert.equal(patched.json<{ state: string }>().state, 'disabled');

    const bad = await service.app.inject({ method: 'POST', url: '/webhooks', headers: alice, payload: { url: 'https://hooks.example.com/', events: ['link.exploded'] } });
    assert.equal(bad.statusCode, 400);
    const self = await service.app.inject({ method: 'POST', url: '/webhooks', headers: alice, payload: { url: `${PUBLIC_BASE_URL}/hook`, events: ['link.created'] } });
    assert.equal(self.json<{ code: string }>().code, 'invalid_url', 'never this service');

    assert.equal((await service.app.inject({ method: 'DELETE', url: `/webhooks/${created.id}`, headers: alice })).statusCode, 204);
    assert.equal((await service.app.inject({ method: 'GET', url: `/webhooks/${created.id}`, headers: alice })).statusCode, 404);
  });

  test('the answer that shows the signing secret is never stored by a cache (Cache-Control: no-store)', async () => {
    const owner = await service.userKey('uncached');
    const res = await service.app.inject({ method: 'POST', url: '/webhooks', headers: owner, payload: { url: 'https://hooks.example.com/uncached', events: ['link.created'] } });
    assert.equal(res.statusCode, 201, res.body);
    assert.match(res.json<CreatedEndpoint>().secret, /^whsec_/);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal((await service.app.inject({ method: 'DELETE', url: `/webhooks/${res.json<CreatedEndpoint>().id}`, headers: owner })).statusCode, 204);
  });

  test('link.created, link.updated and link.deleted reach the owner\'s endpoint signed; another key\'s links do not; an admin endpoint gets every link', async () => {
    const alice = await service.userKey('alice2');
    const bob = await service.userKey('bob2');
    const hooks = await receiver();
    const adminHooks = await receiver();
    const endpoint = await addEndpoint(alice, hooks.url, ['link.created', 'link.updated', 'link.deleted']);
    const adminEndpoint = await addEndpoint(service.admin, adminHooks.url, ['link.created']);
    const code = await createLink(alice, 'https://example.com/alice');
    await createLink(bob, 'https://example.com/bob');
    assert.equal((await service.app.inject({ method: 'PATCH', url: `/urls/${code}`, headers: alice, payload: { is_active: false } })).statusCode, 200);
    assert.equal((await service.app.inject({ method: 'DELETE', url: `/urls/${code}`, headers: alice })).statusCode, 204);

    await drain(dispatcher());
    const got = await hooks.waitFor(3);
    const byType = new Map(got.map((h) => [h.json.type, h]));
    assert.deepEqual([...byType.keys()].sort(), ['link.created', 'link.deleted', 'link.updated']);
    for (const hook of got) {
      assertSigned(hook, endpoint.secret);
      assert.equal(hook.json.data.short_code, code, "only alice's link");
      assert.equal(hook.json.data.short_url, `${PUBLIC_BASE_URL}/${code}`);
    }
    assert.equal(byType.get('link.created')?.json.data.original_url, 'https://example.com/alice');
    assert.equal(byType.get('link.updated')?.json.data.is_active, false);
    assert.equal(new Set(got.map((h) => h.headers['webhook-id'])).size, 3, 'each event has its own id');

    const adminGot = await adminHooks.waitFor(2);
    assert.deepEqual(adminGot.map((h) => h.json.data.original_url).sort(), ['https://example.com/alice', 'https://example.com/bob']);
    for (const hook of adminGot) assertSigned(hook, adminEndpoint.secret);

    const log = await deliveries(alice, endpoint.id);
    assert.equal(log.length, 3);
    // A misspelt field is a 400, as on every route (it was taken as no field at all).
    const misspelt = await service.app.inject({ method: 'GET', url: `/webhooks/${endpoint.id}/deliveries?limt=1`, headers: alice });
    assert.equal(misspelt.statusCode, 400, misspelt.body);
    assert.equal(misspelt.headers['content-type'], 'application/problem+json; charset=utf-8');
    for (const d of log) {
      assert.equal(d.state, 'delivered');
      assert.equal(d.attempts, 1);
      assert.equal(d.last_status, 204);
    }
    await service.app.inject({ method: 'DELETE', url: `/webhooks/${adminEndpoint.id}`, headers: service.admin });
  });

  test('a link event\'s data is the link as GET /urls/{code} shows it, all of its fields; an event the previous version wrote is sent as it was written', async () => {
    const erin = await service.userKey('erin-payload');
    const hooks = await receiver();
    const endpoint = await addEndpoint(erin, hooks.url, ['link.created', 'link.updated']);
    const created = await service.app.inject({
      method: 'POST', url: '/urls', headers: erin,
      payload: { url: 'https://example.com/full', alias: 'fullview', max_visits: 1, forward_query: true, tags: ['Launch', 'web'], password: 'a long password' },
    });
    assert.equal(created.statusCode, 201, created.body);
    // The one visit (through the password) uses the link up: link.updated, state used.
    const visit = await service.app.inject({ method: 'GET', url: '/fullview', headers: { ...PERSON, authorization: `Basic ${Buffer.from(':a long password').toString('base64')}` } });
    assert.equal(visit.statusCode, 302, visit.body);
    const shown = (await service.app.inject({ method: 'GET', url: '/urls/fullview', headers: erin })).json<Record<string, unknown>>();
    assert.equal(shown.state, 'used');
    // An event as the version before this one wrote it: its own fields, no `link`.
    const old = { short_code: 'oldshape', original_url: 'https://example.com/old', created_at: '2026-01-01T00:00:00+00:00', expires_at: null, is_one_time: false, is_active: true, is_custom_alias: true };
    await service.database.pool.query(`INSERT INTO webhook_outbox (endpoint_id, event_type, data) VALUES ($1, 'link.created', $2)`, [endpoint.id, JSON.stringify(old)]);

    await drain(dispatcher());
    const got = await hooks.waitFor(3);
    for (const hook of got) assertSigned(hook, endpoint.secret);
    const ofCode = (code: string, type: string) => got.find((h) => h.json.type === type && h.json.data.short_code === code)?.json.data;
    const first = ofCode('fullview', 'link.created');
    assert.deepEqual(
      Object.fromEntries(['max_visits', 'forward_query', 'tags', 'has_password', 'short_url'].map((f) => [f, first?.[f]])),
      { max_visits: 1, forward_query: true, tags: ['launch', 'web'], has_password: true, short_url: `${PUBLIC_BASE_URL}/fullview` },
    );
    assert.deepEqual(first, { ...shown, state: 'active', visits: 0, is_expired: false }, 'GET /urls/{code} before the visit: every field, the same names and values');
    assert.deepEqual(ofCode('fullview', 'link.updated'), shown, 'the visit that used it up: the link as GET /urls/{code} shows it now');
    assert.deepEqual(ofCode('oldshape', 'link.created'), { ...old, short_url: `${PUBLIC_BASE_URL}/oldshape` });
  });

  test('link.clicked comes in one batch per flush whose counts sum to the clicks by people, bots left out', async () => {
    const carol = await service.userKey('carol');
    const hooks = await receiver();
    const endpoint = await addEndpoint(carol, hooks.url, ['link.clicked']);
    const a = await createLink(carol, 'https://example.com/clicked-a');
    const b = await createLink(carol, 'https://example.com/clicked-b');
    for (let i = 0; i < 5; i++) await service.app.inject({ method: 'GET', url: `/${a}`, headers: PERSON });
    for (let i = 0; i < 3; i++) await service.app.inject({ method: 'GET', url: `/${b}`, headers: PERSON });
    for (let i = 0; i < 4; i++) await service.app.inject({ method: 'GET', url: `/${a}` }); // inject's User-Agent: a bot
    await service.clicks.flush();
    await drain(dispatcher());
    const [hook] = await hooks.waitFor(1);
    assert.ok(hook);
    assertSigned(hook, endpoint.secret);
    assert.equal(hook.json.type, 'link.clicked');
    const links = hook.json.data.links as { short_code: string; clicks: number; short_url: string }[];
    assert.deepEqual(Object.fromEntries(links.map((l) => [l.short_code, l.clicks])), { [a]: 5, [b]: 3 });
    assert.equal(hook.json.data.clicks, 8);
    assert.equal(links.find((l) => l.short_code === a)?.short_url, `${PUBLIC_BASE_URL}/${a}`);
    assert.equal(hooks.received.length, 1, 'one call for the whole flush, not one per click');
  });

  test('a failing endpoint is retried with backoff until it answers, and the log shows each attempt', async () => {
    const dave = await service.userKey('dave');
    const hooks = await receiver();
    const endpoint = await addEndpoint(dave, hooks.url, ['link.created']);
    hooks.setMode('fail');
    await createLink(dave);
    // The dispatcher's own clock, moved by hand: on the real one a loaded machine could take longer
    // than the 50 ms backoff between two runs, and the "not again before its backoff" run would send.
    let at = Date.now();
    const d = dispatcher({ now: () => new Date(at) });
    await d.runOnce();
    assert.deepEqual(hooks.attempts, ['fail']);
    let [first] = await deliveries(dave, endpoint.id);
    assert.equal(first?.state, 'pending');
    assert.equal(first?.last_status, 500);
    assert.equal(first?.last_error, 'answered 500');
    at += 49;
    await d.runOnce();
    assert.equal(hooks.attempts.length, 1, 'not again before its backoff');
    at += 21;
    await d.runOnce();
    assert.deepEqual(hooks.attempts, ['fail', 'fail'], 'again after the first wait');
    hooks.setMode('ok');
    at += 99;
    await d.runOnce();
    assert.deepEqual(hooks.attempts, ['fail', 'fail'], 'not again before the second, longer wait');
    at += 21;
    await d.runOnce();
    await hooks.waitFor(1);
    [first] = await deliveries(dave, endpoint.id);
    assert.equal(first?.state, 'delivered');
    assert.equal(first?.attempts, 3);
    const view = (await service.app.inject({ method: 'GET', url: `/webhooks/${endpoint.id}`, headers: dave })).json<{ consecutive_failures: number }>();
    assert.equal(view.consecutive_failures, 0, 'a success resets the count');
  });

  test('an endpoint that keeps failing is disabled (disabled_failing) and enabling it again resets it', async () => {
    const erin = await service.userKey('erin');
    const hooks = await receiver();
    const endpoint = await addEndpoint(erin, hooks.url, ['link.created']);
    hooks.setMode('fail');
    for (let i = 0; i < 3; i++) await createLink(erin, `https://example.com/fail-${i}`);
    await drain(dispatcher({ disableAfterFailures: 3, disableAfterMs: 0 }));
    const view = (await service.app.inject({ method: 'GET', url: `/webhooks/${endpoint.id}`, headers: erin })).json<{ state: string; consecutive_failures: number }>();
    assert.equal(view.state, 'disabled_failing');
    assert.equal(view.consecutive_failures, 3);
    // Disabled: nothing more is sent, and changes meanwhile make no events for it.
    await createLink(erin, 'https://example.com/after');
    const attemptsBefore = hooks.attempts.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    await drain(dispatcher());
    assert.equal(hooks.attempts.length, attemptsBefore);

    hooks.setMode('ok');
    const enabled = await service.app.inject({ method: 'PATCH', url: `/webhooks/${endpoint.id}`, headers: erin, payload: { is_active: true } });
    assert.deepEqual([enabled.json<{ state: string }>().state, enabled.json<{ consecutive_failures: number }>().consecutive_failures], ['active', 0]);
    await drain(dispatcher());
    const got = await hooks.waitFor(3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(got.map((h) => h.json.data.original_url).sort(), ['https://example.com/fail-0', 'https://example.com/fail-1', 'https://example.com/fail-2']);
  });

  test('a hanging endpoint with a backlog holds one slot and does not hold up the others', async () => {
    const frank = await service.userKey('frank');
    const slow = await receiver();
    const fast = await receiver();
    const hanging = await addEndpoint(frank, slow.url, ['link.created']);
    slow.setMode('hang');
    // A backlog of twelve events: claimed a slot's worth at a time, they would take all four slots.
    for (let i = 0; i < 12; i++) await createLink(frank);
    const quick = await addEndpoint(frank, fast.url, ['link.created']);
    // The slow endpoint's call can only end by its timeout, a minute away: had the fast endpoint waited
    // for it, its event would come long after waitFor gives up. (A 1.5 s stopwatch instead failed
    // whenever a loaded machine was slow.)
    const d = dispatcher({ timeoutMs: 60_000 });
    await createLink(frank);
    d.start();
    const [hook] = await fast.waitFor(1, 20_000);
    assert.ok(hook);
    assertSigned(hook, quick.secret);
    await until(() => slow.attempts.length > 0, 10_000, 'the slow endpoint to be called');
    assert.deepEqual(slow.attempts, ['hang'], 'the slow endpoint was called once (one event at a time) and is still hanging');
    assert.equal(slow.received.length, 0);
    // Ends the hanging call (the dispatcher records it as failed) so that the dispatcher stops at once.
    await slow.close();
    await d.stop(10_000);
    // Its backlog, retried meanwhile, would be due before the next tests' events.
    assert.equal((await service.app.inject({ method: 'DELETE', url: `/webhooks/${hanging.id}`, headers: frank })).statusCode, 204);
  });

  test('events survive a restart: a dispatcher stopped mid-retry leaves them to the next one on the same database', async () => {
    const gina = await service.userKey('gina');
    const hooks = await receiver();
    const endpoint = await addEndpoint(gina, hooks.url, ['link.created']);
    hooks.setMode('fail');
    await createLink(gina);
    const first = dispatcher();
    await first.runOnce();
    await first.stop(1000);
    assert.deepEqual(hooks.attempts, ['fail']);

    // A new process: its own pool on the same database, nothing carried over in memory.
    const pool = createPgPool({ url: service.database.url, log, max: 2 });
    stops.push(() => pool.end());
    hooks.setMode('ok');
    const next = createWebhookDispatcher({ store: createPgWebhookStore(pgRunner(pool)), log, publicBaseUrl: PUBLIC_BASE_URL, allowPrivate: true, pollMs: 20, backoffMs: [50] });
    stops.push(() => next.stop(0));
    await new Promise((resolve) => setTimeout(resolve, 80));
    next.start();
    const [hook] = await hooks.waitFor(1);
    assert.ok(hook);
    assertSigned(hook, endpoint.secret);
    // The receiver answered; the dispatcher records it a moment later.
    const recordBy = Date.now() + 10_000;
    while ((await deliveries(gina, endpoint.id))[0]?.state !== 'delivered' && Date.now() < recordBy) await new Promise((resolve) => setTimeout(resolve, 20));
    const [log1] = await deliveries(gina, endpoint.id);
    assert.deepEqual([log1?.state, log1?.attempts], ['delivered', 2]);
  });

  test('two dispatchers on one database deliver each event once', async () => {
    const hank = await service.userKey('hank');
    const hooks = await receiver();
    await addEndpoint(hank, hooks.url, ['link.created']);
    const other = await receiver();
    await addEndpoint(hank, other.url, ['link.created']);
    for (let i = 0; i < 15; i++) await createLink(hank, `https://example.com/twice-${i}`);
    const pool = createPgPool({ url: service.database.url, log, max: 3 });
    stops.push(() => pool.end());
    const a = dispatcher({ concurrency: 2 });
    const b = createWebhookDispatcher({ store: createPgWebhookStore(pgRunner(pool)), log, publicBaseUrl: PUBLIC_BASE_URL, allowPrivate: true, pollMs: 20, concurrency: 2 });
    stops.push(() => b.stop(0));
    a.start();
    b.start();
    await hooks.waitFor(15);
    await other.waitFor(15);
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const r of [hooks, other]) {
      const ids = r.received.map((h) => String(h.headers['webhook-id']));
      assert.equal(ids.length, 15);
      assert.equal(new Set(ids).size, 15, 'no event twice');
    }
  });
});

describe('webhook targets without WEBHOOK_ALLOW_PRIVATE', () => {
  let service: TestUrlService;
  before(async () => {
    service = await buildTestUrlService('webhooks_private', { webhookAllowPrivate: false });
  });
  after(async () => service.close());

  test('loopback, private and link-local endpoints are refused', async () => {
    const key = await service.userKey();
    for (const url of ['http://127.0.0.1:9/hook', 'http://localhost/hook', 'http://10.1.2.3/', 'http://192.168.1.1/', 'http://169.254.169.254/latest', 'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://2130706433/']) {
      const res = await service.app.inject({ method: 'POST', url: '/webhooks', headers: key, payload: { url, events: ['link.created'] } });
      assert.equal(res.statusCode, 400, url);
      assert.equal(res.json<{ code: string }>().code, 'invalid_url', url);
    }
    const ok = await service.app.inject({ method: 'POST', url: '/webhooks', headers: key, payload: { url: 'https://93.184.215.14/hook', events: ['link.created'] } });
    assert.equal(ok.statusCode, 201, ok.body);
  });

  test('a delivery to a name that resolves to loopback is not made', async () => {
    const hooks = await startWebhookReceiver();
    try {
      const key = await service.userKey('rebind');
      // Saved while allowed (as if the name pointed elsewhere then): the delivery checks again.
      const { id } = await service.webhookStore.insertEndpoint({ ownerKeyId: 1, url: hooks.url.replace('127.0.0.1', 'localhost'), description: null, events: ['link.created'], secret: 'whsec_AAAA' });
      void key;
      await service.app.inject({ method: 'POST', url: '/urls', headers: service.admin, payload: { url: 'https://example.com/rebind' } });
      const d = createWebhookDispatcher({ store: service.webhookStore, log, publicBaseUrl: PUBLIC_BASE_URL, allowPrivate: false, backoffMs: [60_000] });
      await d.runOnce();
      assert.equal(hooks.attempts.length, 0, 'never called');
      const [delivery] = await service.webhookStore.listDeliveries(id, { limit: 5 });
      assert.equal(delivery?.state, 'pending');
      assert.match(delivery?.lastError ?? '', /not a public address/);
      assert.doesNotMatch(delivery?.lastError ?? '', /127\.0\.0\.1|::1|localhost/, 'the delivery log names no address');
    } finally {
      await hooks.close();
    }
  });

  test("a delivery whose connection is refused says so in the log's words, without the address and port the socket named", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { id } = await service.webhookStore.insertEndpoint({ ownerKeyId: 1, url: `http://127.0.0.1:${port}/hook`, description: null, events: ['link.created'], secret: 'whsec_AAAA' });
    await service.app.inject({ method: 'POST', url: '/urls', headers: service.admin, payload: { url: 'https://example.com/refused' } });
    const d = createWebhookDispatcher({ store: service.webhookStore, log, publicBaseUrl: PUBLIC_BASE_URL, allowPrivate: true, backoffMs: [60_000] });
    await d.runOnce();
    const [delivery] = await service.webhookStore.listDeliveries(id, { limit: 5 });
    assert.equal(delivery?.lastError, 'the connection was refused');
  });
});
