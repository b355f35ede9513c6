// The webhook outbox on both adapters (PostgreSQL and PGlite): events written with the link changes
// and click flushes, claimed once, retried, disabled, pruned. Same SQL over a different runner.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { migrate } from '../../src/core/migrate.ts';
import { openPglite, pgliteRunner } from '../../src/storage/pglite/pglite-runner.ts';
import { createPgApiKeyStore, createPgLinkStore } from '../../src/storage/postgres/pg-link-store.ts';
import { createPgWebhookStore } from '../../src/storage/postgres/pg-webhook-store.ts';
import { toLinkView } from '../../src/url/routes/schemas.ts';
import { eventBody } from '../../src/url/webhook-dispatcher.ts';
import type { TransactionalRunner } from '../../src/core/sql.ts';
import { testLogger } from '../support/log.ts';
import { createTestDatabase } from '../support/postgres.ts';

function webhookStoreContract(name: string, open: () => Promise<{ db: TransactionalRunner; close(): Promise<void> }>): void {
  describe(`WebhookStore contract: ${name}`, () => {
    let subject: { db: TransactionalRunner; close(): Promise<void> };
    before(async () => {
      subject = await open();
    });
    after(async () => subject.close());

    test('link changes and click flushes write their events for the owner and admin endpoints; claims, failures and deliveries are recorded', async () => {
      const links = createPgLinkStore(subject.db);
      const keys = createPgApiKeyStore(subject.db);
      const hooks = createPgWebhookStore(subject.db);
      const key = (isAdmin: boolean) => keys.insert({ hash: createHash('sha256').update(randomBytes(16)).digest(), keyPrefix: 'curt_x', name: null, isAdmin });
      const [owner, other, admin] = [await key(false), await key(false), await key(true)];
      const mine = await hooks.insertEndpoint({ ownerKeyId: owner.id, url: 'https://h.example/1', description: null, events: ['link.created', 'link.updated', 'link.deleted', 'link.clicked'], secret: 'whsec_x' });
      const theirs = await hooks.insertEndpoint({ ownerKeyId: other.id, url: 'https://h.example/2', description: null, events: ['link.created'], secret: 'whsec_y' });
      const all = await hooks.insertEndpoint({ ownerKeyId: admin.id, url: 'https://h.example/3', description: null, events: ['link.clicked'], secret: 'whsec_z' });
      const code = `w${randomBytes(3).toString('hex')}`;
      const link = await links.insert({ code, url: 'https://example.com/', expiresAt: null, isOneTime: false, isCustomAlias: false, ownerKeyId: owner.id });
      await links.updateById(link.id, { isActive: false });
      // A link with bot hits only, in the same flush (anonymous: its creation goes to no endpoint): in no link.clicked.
      const botsOnly = await links.insert({ code: `b${randomBytes(3).toString('hex')}`, url: 'https://example.com/b', expiresAt: null, isOneTime: false, isCustomAlias: false, ownerKeyId: null });
      await links.applyClicks(
        [{ linkId: link.id, clicks: 4, botHits: 9, lastClickedAt: new Date(), days: new Map() }, { linkId: botsOnly.id, clicks: 0, botHits: 3, lastClickedAt: null, days: new Map() }],
        randomUUID(),
      );
      await links.deleteById(link.id);

      const log = await hooks.listDeliveries(mine.id, { limit: 10 });
      assert.deepEqual(log.map((d) => d.type).reverse(), ['link.created', 'link.updated', 'link.clicked', 'link.deleted']);
      assert.equal((await hooks.listDeliveries(theirs.id, { limit: 10 })).length, 0, 'not another key’s link');
      assert.deepEqual((await hooks.listDeliveries(all.id, { limit: 10 })).map((d) => d.type), ['link.clicked'], 'an admin endpoint hears every link');

      const now = new Date(Date.now() + 1000);
      const claimed = await hooks.claimDue({ now, limit: 10, leaseMs: 60_000 });
      assert.equal(claimed.length, 5);
      const clicked = claimed.find((c) => c.endpointId === mine.id && c.type === 'link.clicked');
      assert.deepEqual(clicked?.data, { links: [{ short_code: code, clicks: 4 }], clicks: 4 }, 'bot hits left out, and the link with bot hits only');
      const adminClicked = claimed.find((c) => c.endpointId === all.id && c.type === 'link.clicked');
      assert.deepEqual(adminClicked?.data, { links: [{ short_code: code, clicks: 4 }], clicks: 4 }, 'the admin endpoint sees every link, and still not the one with bot hits only');
      assert.equal((await hooks.claimDue({ now, limit: 10, leaseMs: 60_000 })).length, 0, 'leased: not claimed twice');

      for (const c of claimed.filter((c) => c.endpointId === mine.id)) {
        const { disabled } = await hooks.markFailed(c.id, { now, status: 500, error: 'answered 500', retryAt: new Date(now.getTime() + 10), disableAfterFailures: 4, disableAfterMs: 0 });
        assert.equal(disabled, c.type === 'link.deleted' || (await hooks.findEndpoint(mine.id))?.isActive === false);
      }
      const endpoint = await hooks.findEndpoint(mine.id);
      assert.equal(endpoint?.isActive, false);
      assert.notEqual(endpoint?.disabledAt, null);
      assert.equal((await hooks.claimDue({ now: new Date(now.getTime() + 1000), limit: 10, leaseMs: 1 })).length, 0, 'a disabled endpoint is not sent to');
      const enabled = await hooks.updateEndpoint(mine.id, { isActive: true });
      assert.deepEqual([enabled?.consecutiveFailures, enabled?.disabledAt], [0, null]);
      const again = await hooks.claimDue({ now: new Date(now.getTime() + 1000), limit: 10, leaseMs: 1 });
      assert.equal(again.length, 4);
      for (const c of again) await hooks.markDelivered(c.id, { now, status: 200 });
      const adminEvent = claimed.find((c) => c.endpointId === all.id);
      assert.ok(adminEvent);
      await hooks.markFailed(adminEvent.id, { now, status: null, error: 'timeout', retryAt: null, disableAfterFailures: 10, disableAfterMs: 0 });
      assert.equal((await hooks.listDeliveries(all.id, { limit: 1 }))[0]?.state, 'failed');
      assert.equal(await hooks.countPending(), 0);
      assert.equal(await hooks.pruneOutbox(new Date(Date.now() + 60_000), 100), 5);
      assert.equal(await hooks.deleteEndpoint(theirs.id), true);
    });

    test('a link event carries the link as the store reads it, and the dispatcher sends it as GET /urls/{code} shows it; the visit that uses a link up sends link.updated, the visits before it nothing', async () => {
      const links = createPgLinkStore(subject.db);
      const keys = createPgApiKeyStore(subject.db);
      const hooks = createPgWebhookStore(subject.db);
      const owner = await keys.insert({ hash: createHash('sha256').update(randomBytes(16)).digest(), keyPrefix: 'curt_v', name: null, isAdmin: false });
      const endpoint = await hooks.insertEndpoint({ ownerKeyId: owner.id, url: 'https://h.example/v', description: null, events: ['link.created', 'link.updated'], secret: 'whsec_v' });
      const code = `v${randomBytes(3).toString('hex')}`;
      const link = await links.insert({
        code, url: 'https://example.com/limited', expiresAt: null, maxVisits: 2, forwardQuery: true, isCustomAlias: true, ownerKeyId: owner.id, passwordHash: '$scrypt$ln=15,r=8,p=1$c2FsdA$a2V5', tags: ['launch', 'web'],
      });
      assert.ok(await links.countVisit(link.id, new Date()), 'the first of two visits');
      const used = await links.countVisit(link.id, new Date());
      assert.equal(used?.consumedAt !== null, true, 'the second uses it up');
      assert.equal(await links.countVisit(link.id, new Date()), null, 'no third');

      const claimed = (await hooks.claimDue({ now: new Date(Date.now() + 1000), limit: 10, leaseMs: 60_000 })).filter((c) => c.endpointId === endpoint.id);
      assert.deepEqual(claimed.map((c) => c.type), ['link.created', 'link.updated'], 'one event for the creation, one for the visit that used it up');
      const [created, updated] = claimed;
      assert.ok(created && updated);
      assert.deepEqual(created.link, { ...link, hasPassword: true }, 'the row read back from the event is the row the store returned');
      assert.deepEqual(updated.link, used);
      const view = (delivery: typeof created) => (JSON.parse(eventBody(delivery, 'https://sho.rt')) as { data: Record<string, unknown> }).data;
      assert.deepEqual(view(created), toLinkView({ ...link, hasPassword: true }, 'https://sho.rt', created.createdAt.getTime()), 'the same representation as GET /urls/{code}');
      assert.deepEqual(
        Object.fromEntries(['max_visits', 'visits', 'forward_query', 'tags', 'has_password', 'state'].map((f) => [f, view(created)[f]])),
        { max_visits: 2, visits: 0, forward_query: true, tags: ['launch', 'web'], has_password: true, state: 'active' },
      );
      assert.deepEqual([view(updated).visits, view(updated).state], [2, 'used']);
      assert.doesNotMatch(JSON.stringify(created.data), /scrypt/, 'the hash is not in the outbox');
      for (const c of claimed) await hooks.markDelivered(c.id, { now: new Date(), status: 200 });
    });

    test('a claim leaves out the endpoints the caller is sending to; a revoked key\'s pending events are not claimed or counted, and are pruned once old', async () => {
      const links = createPgLinkStore(subject.db);
      const keys = createPgApiKeyStore(subject.db);
      const hooks = createPgWebhookStore(subject.db);
      const key = () => keys.insert({ hash: createHash('sha256').update(randomBytes(16)).digest(), keyPrefix: 'curt_s', name: null, isAdmin: false });
      const [owner, leaving] = [await key(), await key()];
      const endpoint = (ownerKeyId: number, n: number) => hooks.insertEndpoint({ ownerKeyId, url: `https://h.example/s${n}`, description: null, events: ['link.created'], secret: 'whsec_s' });
      const [busy, idle, revoked] = [await endpoint(owner.id, 1), await endpoint(owner.id, 2), await endpoint(leaving.id, 3)];
      const create = (ownerKeyId: number) => links.insert({ code: `s${randomBytes(3).toString('hex')}`, url: 'https://example.com/s', expiresAt: null, isOneTime: false, isCustomAlias: false, ownerKeyId });
      for (let i = 0; i < 3; i++) await create(owner.id);
      await create(leaving.id);
      const ours = (claimed: { endpointId: number }[]) => claimed.map((c) => c.endpointId).filter((id) => [busy.id, idle.id, revoked.id].includes(id));
      const pendingBefore = await hooks.countPending();

      await keys.revoke(leaving.id);
      assert.equal(await hooks.countPending(), pendingBefore - 1, 'the revoked key\'s event is not counted as pending');
      const now = new Date(Date.now() + 1000);
      const first = await hooks.claimDue({ now, limit: 100, leaseMs: 60_000, skipEndpoints: [busy.id] });
      assert.deepEqual(ours(first), [idle.id, idle.id, idle.id], 'none of the busy endpoint\'s, none of the revoked key\'s');
      const second = await hooks.claimDue({ now, limit: 100, leaseMs: 60_000, skipEndpoints: [] });
      assert.deepEqual(ours(second), [busy.id, busy.id, busy.id], 'the busy endpoint\'s once it is not');
      for (const c of [...first, ...second]) await hooks.markDelivered(c.id, { now, status: 200 });

      assert.equal((await hooks.listDeliveries(revoked.id, { limit: 10 }))[0]?.state, 'pending');
      await hooks.pruneOutbox(new Date(Date.now() - 60_000), 1000);
      assert.equal((await hooks.listDeliveries(revoked.id, { limit: 10 })).length, 1, 'kept while younger than the retention');
      await hooks.pruneOutbox(new Date(Date.now() + 60_000), 1000);
      assert.equal((await hooks.listDeliveries(revoked.id, { limit: 10 })).length, 0, 'pruned after it: nothing would ever send it');
    });
  });
}

webhookStoreContract('PostgreSQL', async () => {
  const database = await createTestDatabase('webhook_store_contract');
  return { db: database.db, close: () => database.drop() };
});

webhookStoreContract('PGlite', async () => {
  const pglite = await openPglite(null);
  const db = pgliteRunner(pglite);
  await migrate(db, testLogger('pglite'));
  return { db, close: () => pglite.close() };
});
