// The limit of endpoints per key (MAX_ENDPOINTS_PER_KEY) under concurrent creations by one key, on
// both storage modes. It was counted before the insert, so creations sent at once all passed the
// count: 150 at once made 150 endpoints on PostgreSQL, and 40 made 41 on PGlite.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { migrate } from '../../src/core/migrate.ts';
import type { TransactionalRunner } from '../../src/core/sql.ts';
import { openPglite, pgliteRunner } from '../../src/storage/pglite/pglite-runner.ts';
import { openPgliteThread } from '../../src/storage/pglite/pglite-thread.ts';
import { createPgApiKeyStore } from '../../src/storage/postgres/pg-link-store.ts';
import { createPgWebhookStore } from '../../src/storage/postgres/pg-webhook-store.ts';
import { createWebhookService, MAX_ENDPOINTS_PER_KEY } from '../../src/url/webhook-service.ts';
import { testLogger } from '../support/log.ts';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';

/** Creations sent at once by one key: three times the limit. */
const AT_ONCE = 60;
const LIMIT_DETAIL = `A key may have at most ${MAX_ENDPOINTS_PER_KEY} webhook endpoints.`;

describe('the endpoint limit per key on PostgreSQL, through the API', () => {
  let service: TestUrlService;
  before(async () => {
    service = await buildTestUrlService('webhook_limit');
  });
  after(async () => service.close());

  test(`${AT_ONCE} concurrent POST /webhooks by one key make exactly ${MAX_ENDPOINTS_PER_KEY} endpoints; the others get 400 invalid_request`, async () => {
    const key = await service.userKey('many');
    const answers = await Promise.all(
      Array.from({ length: AT_ONCE }, (_, i) =>
        service.app.inject({ method: 'POST', url: '/webhooks', headers: key, payload: { url: `https://hooks.example.com/${i}`, events: ['link.created'] } }),
      ),
    );
    const created = answers.filter((res) => res.statusCode === 201);
    const refused = answers.filter((res) => res.statusCode !== 201);
    assert.equal(created.length, MAX_ENDPOINTS_PER_KEY, answers.map((res) => res.statusCode).join(' '));
    for (const res of refused) {
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.deepEqual([res.json<{ code: string }>().code, res.json<{ detail: string }>().detail], ['invalid_request', LIMIT_DETAIL]);
    }
    const listed = await service.app.inject({ method: 'GET', url: '/webhooks', headers: key });
    assert.equal(listed.json<{ items: unknown[] }>().items.length, MAX_ENDPOINTS_PER_KEY);

    // Per key: another key is not held back by this one's endpoints, and a deleted endpoint frees a place.
    const other = await service.app.inject({ method: 'POST', url: '/webhooks', headers: await service.userKey('other'), payload: { url: 'https://hooks.example.com/other', events: ['link.created'] } });
    assert.equal(other.statusCode, 201, other.body);
    const first = created[0]?.json<{ id: number }>().id;
    assert.equal((await service.app.inject({ method: 'DELETE', url: `/webhooks/${first}`, headers: key })).statusCode, 204);
    const again = await Promise.all(
      [1, 2, 3].map((i) => service.app.inject({ method: 'POST', url: '/webhooks', headers: key, payload: { url: `https://hooks.example.com/again/${i}`, events: ['link.created'] } })),
    );
    assert.deepEqual(again.map((res) => res.statusCode).sort(), [201, 400, 400]);
  });
});

/** The service over the PostgreSQL store on `db`, as `curt serve` wires it; a fresh non-admin key. */
async function serviceOn(db: TransactionalRunner) {
  const key = await createPgApiKeyStore(db).insert({ hash: createHash('sha256').update(randomBytes(16)).digest(), keyPrefix: 'curt_l', name: null, isAdmin: false });
  const store = createPgWebhookStore(db);
  const service = createWebhookService({ store, policy: { ownHosts: [], allowPrivate: false } });
  return { store, service, principal: { keyId: key.id, isAdmin: false } };
}

function limitHoldsOn(name: string, open: () => Promise<{ db: TransactionalRunner; close(): Promise<unknown> }>): void {
  describe(`the endpoint limit per key on ${name}`, () => {
    let subject: { db: TransactionalRunner; close(): Promise<unknown> };
    before(async () => {
      subject = await open();
    });
    after(async () => subject.close());

    test(`${AT_ONCE} concurrent creations by one key make exactly ${MAX_ENDPOINTS_PER_KEY} endpoints; the others are refused with invalid_request`, async () => {
      const { store, service, principal } = await serviceOn(subject.db);
      const outcomes = await Promise.allSettled(
        Array.from({ length: AT_ONCE }, (_, i) => service.createEndpoint(principal, { url: `https://hooks.example.com/${i}`, events: ['link.created'] })),
      );
      const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as Error & { status?: number; code?: string }] : []));
      assert.equal(outcomes.length - refused.length, MAX_ENDPOINTS_PER_KEY);
      for (const err of refused) assert.deepEqual([err.status, err.code, err.message], [400, 'invalid_request', LIMIT_DETAIL]);
      assert.equal((await store.listEndpoints(principal.keyId)).length, MAX_ENDPOINTS_PER_KEY);
    });
  });
}

// `curt serve`'s one-machine mode: PGlite on its own thread (src/serve/storage.ts).
limitHoldsOn('PGlite on its thread (the one-machine mode)', async () => {
  const thread = await openPgliteThread(null);
  await migrate(thread.runner, testLogger('pglite'));
  return { db: thread.runner, close: () => thread.close() };
});

limitHoldsOn('PGlite in process', async () => {
  const pglite = await openPglite(null);
  const db = pgliteRunner(pglite);
  await migrate(db, testLogger('pglite'));
  return { db, close: () => pglite.close() };
});
