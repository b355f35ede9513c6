// Webhooks on `curt serve` over PGlite, through HTTP only: endpoints made by the API, link events and
// batched clicks delivered to a real receiver and signed as docs/webhooks.md says, a retry after the
// receiver failed, and events written before a restart delivered after it. The dispatcher is the one
// startServe wires in (src/url/url-service.ts): its retry waits are the defaults (10 s ±20 % after
// the first failure, DEFAULT_BACKOFF_MS in src/url/webhook-dispatcher.ts), since no setting of
// `curt serve` shortens them; so the two tests that need a retry each wait about 10 s for it.
// The PostgreSQL side, with shortened waits in-process, is test/integration/webhooks.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServeConfig } from '../../src/core/config.ts';
import { startServe, type Served } from '../../src/serve/serve.ts';
import { until, untilValue } from '../support/fault-probes.ts';
import { testLogger } from '../support/log.ts';
import { PERSON, PREVIEW_BOT_UA } from '../support/user-agents.ts';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../support/webhook-receiver.ts';

const PUBLIC_BASE_URL = 'https://curt.test';
/** The first retry comes 10 s ±20 % after a failure, plus up to one 1 s poll; room for a loaded machine. */
const RETRY_WAIT_MS = 30_000;

type Headers = Record<string, string>;

interface Endpoint {
  id: number;
  secret: string;
  state: string;
  events: string[];
}

interface Delivery {
  event_id: string;
  type: string;
  state: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  last_attempt_at: string | null;
  next_attempt_at: string | null;
}

const SERVE_ENV: Record<string, string> = {
  PORT: '0',
  METRICS_PORT: 'off',
  LOG_LEVEL: 'silent',
  PUBLIC_BASE_URL,
  CLICK_FLUSH_INTERVAL_MS: '100',
  // The receiver is on 127.0.0.1 (docs/webhooks.md, "Targets").
  WEBHOOK_ALLOW_PRIVATE: 'true',
};

/** The API of one running `curt serve`, as a client sees it. */
function apiOf(base: () => string, admin: Headers) {
  const call = async (method: string, path: string, headers: Headers, payload?: unknown): Promise<Response> =>
    fetch(`${base()}${path}`, {
      method,
      redirect: 'manual',
      headers: { ...headers, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
    });
  return {
    call,
    async userKey(name: string): Promise<Headers> {
      const res = await call('POST', '/api-keys', admin, { name });
      assert.equal(res.status, 201, await res.clone().text());
      return { authorization: `Bearer ${((await res.json()) as { key: string }).key}` };
    },
    async addEndpoint(key: Headers, url: string, events: string[]): Promise<Endpoint> {
      const res = await call('POST', '/webhooks', key, { url, events });
      assert.equal(res.status, 201, await res.clone().text());
      const endpoint = (await res.json()) as Endpoint;
      assert.match(endpoint.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
      assert.equal(endpoint.state, 'active');
      assert.deepEqual(endpoint.events, events);
      return endpoint;
    },
    async createLink(key: Headers, url: string): Promise<{ short_code: string; short_url: string }> {
      const res = await call('POST', '/urls', key, { url });
      assert.equal(res.status, 201, await res.clone().text());
      return (await res.json()) as { short_code: string; short_url: string };
    },
    async deliveries(key: Headers, endpointId: number): Promise<Delivery[]> {
      const res = await call('GET', `/webhooks/${endpointId}/deliveries`, key);
      assert.equal(res.status, 200, await res.clone().text());
      return ((await res.json()) as { items: Delivery[] }).items;
    },
    /** A redirect; `userAgent` decides whether it is a person's click or a bot's hit. */
    async visit(code: string, userAgent: Headers): Promise<void> {
      const res = await call('GET', `/${code}`, userAgent);
      assert.equal(res.status, 302, `/${code}`);
      await res.body?.cancel();
    },
  };
}

/**
 * The Standard Webhooks check of docs/webhooks.md ("Signatures"), written out here rather than taken
 * from src/url/webhook-signature.ts, so that a signer and verifier wrong in the same way would fail.
 */
function assertSigned(hook: ReceivedWebhook, secret: string): void {
  const id = String(hook.headers['webhook-id']);
  const timestamp = String(hook.headers['webhook-timestamp']);
  const signatures = String(hook.headers['webhook-signature']).split(' ');
  const signed = (body: string): string => `v1,${createHmac('sha256', Buffer.from(secret.replace(/^whsec_/, ''), 'base64')).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'webhook-id is a UUID');
  assert.ok(Math.abs(Number(timestamp) - Date.now() / 1000) < 60, `webhook-timestamp ${timestamp} is now`);
  assert.ok(signatures.includes(signed(hook.body)), 'the signature is the HMAC of id.timestamp.body with the secret');
  assert.ok(!signatures.includes(signed(`${hook.body} `)), 'and not that of another body');
  assert.equal(hook.headers['content-type'], 'application/json');
}

/** Each link's clicks summed over the link.clicked events received (a flush may straddle the clicks). */
function clicksByCode(hooks: ReceivedWebhook[]): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const hook of hooks.filter((h) => h.json.type === 'link.clicked')) {
    const links = hook.json.data.links as { short_code: string; clicks: number; short_url: string }[];
    assert.equal(hook.json.data.clicks, links.reduce((sum, l) => sum + l.clicks, 0), 'an event\'s clicks are the sum of its links\'');
    for (const link of links) {
      assert.equal(link.short_url, `${PUBLIC_BASE_URL}/${link.short_code}`);
      sums[link.short_code] = (sums[link.short_code] ?? 0) + link.clicks;
    }
  }
  return sums;
}

describe('webhooks on curt serve over PGlite', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  let served: Served;
  let running = false;
  let api: ReturnType<typeof apiOf>;

  async function receiver(): Promise<WebhookReceiver> {
    const r = await startWebhookReceiver();
    cleanups.push(() => r.close());
    return r;
  }

  const dataDir = join(tmpdir(), `curt-hooks-${process.pid}-${Date.now()}`);
  const config = loadServeConfig(SERVE_ENV);

  before(async () => {
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    served = await startServe(config, dataDir, testLogger('serve'));
    running = true;
    // The one running then: the last test stops it and starts another on the same folder.
    cleanups.push(async () => {
      if (running) await served.stop();
    });
    api = apiOf(() => served.address, { authorization: `Bearer ${served.createdAdminKey ?? ''}` });
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  test('link.created, link.updated and link.deleted reach the owner\'s endpoint, signed, each with its own id; another key\'s link does not', async () => {
    const alice = await api.userKey('alice');
    const bob = await api.userKey('bob');
    const hooks = await receiver();
    const endpoint = await api.addEndpoint(alice, hooks.url, ['link.created', 'link.updated', 'link.deleted']);
    const link = await api.createLink(alice, 'https://example.com/alice');
    await api.createLink(bob, 'https://example.com/bob');
    assert.equal((await api.call('PATCH', `/urls/${link.short_code}`, alice, { is_active: false })).status, 200);
    assert.equal((await api.call('DELETE', `/urls/${link.short_code}`, alice)).status, 204);

    const got = await hooks.waitFor(3);
    const byType = new Map(got.map((h) => [h.json.type, h]));
    assert.deepEqual([...byType.keys()].sort(), ['link.created', 'link.deleted', 'link.updated']);
    for (const hook of got) {
      assertSigned(hook, endpoint.secret);
      assert.equal(hook.json.data.short_code, link.short_code, "only alice's link");
      assert.equal(hook.json.data.short_url, link.short_url);
    }
    assert.equal(byType.get('link.created')?.json.data.original_url, 'https://example.com/alice');
    assert.equal(byType.get('link.created')?.json.data.is_active, true);
    assert.equal(byType.get('link.updated')?.json.data.is_active, false);
    assert.equal(byType.get('link.deleted')?.json.data.original_url, 'https://example.com/alice', 'the link as it was');
    assert.equal(new Set(got.map((h) => h.headers['webhook-id'])).size, 3, 'each event has its own id');

    // The receiver answered; the dispatcher records it a moment later.
    const log = await untilValue('three deliveries recorded', async () => {
      const items = await api.deliveries(alice, endpoint.id);
      return items.length === 3 && items.every((d) => d.state === 'delivered') ? items : undefined;
    }, 10_000);
    for (const d of log) assert.deepEqual([d.attempts, d.last_status, d.last_error], [1, 204, null], d.type);
    assert.deepEqual(log.map((d) => d.event_id).sort(), got.map((h) => String(h.headers['webhook-id'])).sort(), 'the log names the ids the receiver got');
    assert.equal(hooks.received.length, 3, 'nothing else, bob\'s link included');
  });

  test('link.clicked comes in batches whose counts are the clicks by people, bots left out', async () => {
    const carol = await api.userKey('carol');
    const hooks = await receiver();
    const endpoint = await api.addEndpoint(carol, hooks.url, ['link.clicked']);
    const a = (await api.createLink(carol, 'https://example.com/clicked-a')).short_code;
    const b = (await api.createLink(carol, 'https://example.com/clicked-b')).short_code;
    // The bots first: once the people's clicks are counted, the bots' hits are too.
    await api.visit(a, { 'user-agent': PREVIEW_BOT_UA });
    await api.visit(a, {}); // fetch's own User-Agent: a bot
    await Promise.all([...Array.from({ length: 5 }, () => api.visit(a, PERSON)), ...Array.from({ length: 3 }, () => api.visit(b, PERSON))]);

    // The events are written in the flush's transaction: once the counts show, every event exists.
    await until(async () => {
      const [la, lb] = await Promise.all([a, b].map(async (code) => (await (await api.call('GET', `/urls/${code}`, carol)).json()) as { clicks: number; bot_hits: number }));
      return la?.clicks === 5 && la.bot_hits === 2 && lb?.clicks === 3;
    }, 10_000, 'the clicks of a and b written');
    await until(async () => (await api.deliveries(carol, endpoint.id)).every((d) => d.state === 'delivered'), 10_000, 'every link.clicked delivered');

    const clicked = hooks.received.filter((h) => h.json.type === 'link.clicked');
    assert.equal(clicked.length, hooks.received.length, 'only link.clicked was asked for');
    for (const hook of clicked) assertSigned(hook, endpoint.secret);
    assert.deepEqual(clicksByCode(clicked), { [a]: 5, [b]: 3 }, 'the people\'s clicks, not the bots\'');
    assert.ok(clicked.length < 8, `batched: ${clicked.length} calls for 8 clicks`);
    assert.equal((await api.deliveries(carol, endpoint.id)).length, clicked.length, 'one delivery per event');
  });

  test('a receiver that fails (500) gets the event again after the retry wait once it recovers, with the same id; the log shows both attempts', async () => {
    const dave = await api.userKey('dave');
    const hooks = await receiver();
    const endpoint = await api.addEndpoint(dave, hooks.url, ['link.created']);
    hooks.setMode('fail');
    const link = await api.createLink(dave, 'https://example.com/retried');

    // The claim counts the attempt (and leases the row) before the receiver answers: the outcome is
    // recorded once last_status is.
    const failed = await untilValue('the failed attempt recorded', async () => {
      const [d] = await api.deliveries(dave, endpoint.id);
      return d?.attempts === 1 && d.last_status !== null ? d : undefined;
    }, 10_000);
    assert.deepEqual(hooks.attempts, ['fail']);
    assert.deepEqual([failed.state, failed.last_status, failed.last_error], ['pending', 500, 'answered 500']);
    // The wait is counted from the failure, last_attempt_at is the claim: the attempt's own time (at
    // most until the test saw its outcome) comes on top of 10 s ±20 %.
    const attemptMs = Date.now() - Date.parse(failed.last_attempt_at ?? '');
    const wait = Date.parse(failed.next_attempt_at ?? '') - Date.parse(failed.last_attempt_at ?? '');
    assert.ok(wait >= 8000 && wait <= 12_000 + attemptMs, `the first retry is 10 s ±20 % after the failure (${wait} ms after the claim, the attempt at most ${attemptMs} ms)`);

    hooks.setMode('ok');
    const [hook] = await hooks.waitFor(1, RETRY_WAIT_MS);
    assert.ok(hook);
    assertSigned(hook, endpoint.secret);
    assert.equal(hook.json.data.short_code, link.short_code);
    assert.equal(hook.headers['webhook-id'], failed.event_id, 'a retry keeps the event\'s id');
    const done = await untilValue('the retry recorded', async () => {
      const [d] = await api.deliveries(dave, endpoint.id);
      return d?.state === 'delivered' ? d : undefined;
    }, 10_000);
    assert.deepEqual([done.attempts, done.last_status, done.last_error], [2, 204, null]);
    assert.deepEqual(hooks.attempts, ['fail', 'ok'], 'one failure, one success, nothing more');
  });
  test('events written before a stop (a failed link.created, link.clicked) are delivered after the next start on the same folder', async () => {
    const erin = await api.userKey('erin');
    const hooks = await receiver();
    const endpoint = await api.addEndpoint(erin, hooks.url, ['link.created', 'link.clicked']);
    hooks.setMode('fail');
    const link = await api.createLink(erin, 'https://example.com/restarted');
    await until(async () => (await api.deliveries(erin, endpoint.id)).some((d) => d.type === 'link.created' && d.attempts === 1 && d.last_status !== null), 10_000, 'the failed attempt recorded');
    // Written by a flush before the stop or by the stop's own: either way, before the restart.
    for (let i = 0; i < 3; i++) await api.visit(link.short_code, PERSON);
    await api.visit(link.short_code, { 'user-agent': PREVIEW_BOT_UA });

    running = false;
    await served.stop();
    hooks.setMode('ok');
    served = await startServe(config, dataDir, testLogger('serve'));
    running = true;
    assert.equal(served.createdAdminKey, null, 'the same folder: the keys of the first start still hold');

    await until(() => hooks.received.some((h) => h.json.type === 'link.created') && clicksByCode(hooks.received)[link.short_code] === 3, RETRY_WAIT_MS, () => `link.created and 3 clicks; got ${JSON.stringify(hooks.received.map((h) => h.json))}`);
    const log = await untilValue('every delivery recorded', async () => {
      const items = await api.deliveries(erin, endpoint.id);
      return items.every((d) => d.state === 'delivered') ? items : undefined;
    }, 10_000);
    for (const hook of hooks.received) assertSigned(hook, endpoint.secret);
    const created = hooks.received.filter((h) => h.json.type === 'link.created');
    assert.equal(created.length, 1);
    assert.equal(created[0]?.json.data.short_code, link.short_code);
    assert.deepEqual(clicksByCode(hooks.received), { [link.short_code]: 3 }, 'the people\'s clicks, not the bot\'s');
    const createdLog = log.find((d) => d.type === 'link.created');
    assert.deepEqual([createdLog?.attempts, createdLog?.last_status], [2, 204], 'one attempt failed before the stop, one made after the start');
    assert.equal(createdLog?.event_id, created[0]?.headers['webhook-id']);
    assert.equal(log.length, hooks.received.length, 'each event once');
  });
});
