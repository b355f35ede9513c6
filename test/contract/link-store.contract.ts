// What every LinkStore / ApiKeyStore adapter must do, whatever holds the data (PostgreSQL, PGlite).
// Run by test/integration/link-store-contract.test.ts once per adapter, so they cannot drift apart.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { CodeExists, type ApiKeyStore, type ClickAggregate, type LinkStore, type ListOptions, type NewLink } from '../../src/storage/link-store.ts';

export interface LinkStoreSubject {
  store: LinkStore;
  apiKeys: ApiKeyStore;
  close(): Promise<void>;
}

/** Codes unique to one run, so every test can share one database. */
function codeMaker(): () => string {
  const run = randomBytes(3).toString('hex').slice(0, 5);
  let n = 0;
  return () => `k${run}${n++}`;
}

const HOUR = 3600_000;

export function linkStoreContract(adapter: string, open: () => Promise<LinkStoreSubject>): void {
  describe(`LinkStore contract: ${adapter}`, () => {
    let subject: LinkStoreSubject;
    let store: LinkStore;
    const code = codeMaker();
    const link = (extra: Partial<NewLink> = {}): NewLink => ({
      code: code(),
      url: 'https://example.com/x',
      expiresAt: null,
      isOneTime: false,
      isCustomAlias: false,
      ownerKeyId: null,
      ...extra,
    });
    const newKey = (isAdmin: boolean) => {
      const key = randomBytes(16).toString('hex');
      return { hash: createHash('sha256').update(key).digest(), keyPrefix: key.slice(0, 12), name: 'contract', isAdmin };
    };

    before(async () => {
      subject = await open();
      store = subject.store;
    });
    after(() => subject.close());

    test('insert returns the stored link with its defaults; findByCode finds it; a taken code is CodeExists', async () => {
      const expiresAt = new Date(Date.now() + HOUR);
      const created = await store.insert(link({ url: 'https://example.com/é?q=1', expiresAt, isOneTime: true }));
      assert.equal(created.url, 'https://example.com/é?q=1');
      assert.equal(created.expiresAt?.getTime(), expiresAt.getTime());
      assert.deepEqual(
        [created.isOneTime, created.isActive, created.isExpired, created.isCustomAlias, created.clicks, created.lastClickedAt, created.consumedAt],
        [true, true, false, false, 0, null, null],
      );
      assert.ok(created.createdAt instanceof Date && typeof created.id === 'number');
      assert.deepEqual(await store.findByCode(created.code), created);
      assert.equal(await store.findByCode(code()), null);
      await assert.rejects(store.insert(link({ code: created.code })), CodeExists);
    });

    test('consumeOneTime lets exactly one of 20 concurrent callers through, and never a link that is not one-time, disabled or expired', async () => {
      const once = await store.insert(link({ isOneTime: true }));
      const wins = await Promise.all(Array.from({ length: 20 }, () => store.consumeOneTime(once.code, new Date())));
      assert.equal(wins.filter(Boolean).length, 1);
      assert.ok((await store.findByCode(once.code))?.consumedAt instanceof Date);
      const plain = await store.insert(link());
      assert.equal(await store.consumeOneTime(plain.code, new Date()), false);
      const disabled = await store.insert(link({ isOneTime: true }));
      await store.updateById(disabled.id, { isActive: false });
      assert.equal(await store.consumeOneTime(disabled.code, new Date()), false);
      const expired = await store.insert(link({ isOneTime: true, expiresAt: new Date(Date.now() + 1000) }));
      assert.equal(await store.consumeOneTime(expired.code, new Date(Date.now() + 2000)), false);
    });

    test('updateById changes state and expiry, derives is_expired, and answers null for an unknown id', async () => {
      const created = await store.insert(link());
      assert.equal((await store.updateById(created.id, { isActive: false }))?.isActive, false);
      const past = await store.updateById(created.id, { expiresAt: new Date(Date.now() - 1000) });
      assert.equal(past?.isExpired, true);
      const cleared = await store.updateById(created.id, { expiresAt: null });
      assert.deepEqual([cleared?.expiresAt, cleared?.isExpired], [null, false]);
      assert.deepEqual(await store.updateById(created.id, {}), await store.findByCode(created.code));
      assert.equal(await store.updateById(2 ** 52, { isActive: true }), null);
      assert.equal(await store.updateById(2 ** 52, {}), null);
    });

    test('deleteById returns the deleted link once', async () => {
      const created = await store.insert(link());
      assert.equal((await store.deleteById(created.id))?.id, created.id);
      assert.equal(await store.deleteById(created.id), null);
      assert.equal(await store.findByCode(created.code), null);
    });

    test('updateById and deleteById act on the row they name: a link that took its code since is left alone', async () => {
      const owner = await subject.apiKeys.insert(newKey(false));
      const first = await store.insert(link({ isCustomAlias: true }));
      await store.deleteById(first.id);
      const second = await store.insert(link({ code: first.code, isCustomAlias: true, ownerKeyId: owner.id }));
      assert.notEqual(second.id, first.id);
      assert.equal(await store.updateById(first.id, { isActive: false, expiresAt: new Date(Date.now() - 1000) }), null);
      assert.equal(await store.updateById(first.id, {}), null);
      assert.equal(await store.deleteById(first.id), null);
      assert.deepEqual(await store.findByCode(first.code), second, 'the new link on the code is unchanged');
    });

    test('list: newest first, by owner, in pages by id', async () => {
      const owner = await subject.apiKeys.insert(newKey(false));
      const mine = [];
      for (let i = 0; i < 5; i++) mine.push(await store.insert(link({ ownerKeyId: owner.id })));
      await store.insert(link());
      const first = await store.list({ ownerKeyId: owner.id, limit: 3 });
      assert.deepEqual(first.map((l) => l.code), mine.slice(2).reverse().map((l) => l.code));
      const rest = await store.list({ ownerKeyId: owner.id, limit: 3, beforeId: first.at(-1)?.id ?? 0 });
      assert.deepEqual(rest.map((l) => l.code), mine.slice(0, 2).reverse().map((l) => l.code));
      const everyone = await store.list({ limit: 100 });
      assert.ok(everyone.length >= 6 && everyone.every((l, i, all) => i === 0 || (all[i - 1]?.id ?? 0) > l.id));
    });

    test('list: search finds text in the code or the target in any letter case, wildcards taken literally; state keeps one state at `now`', async () => {
      const owner = await subject.apiKeys.insert(newKey(false));
      const mine = (extra: Partial<NewLink>) => store.insert(link({ ownerKeyId: owner.id, ...extra }));
      const now = new Date();
      const needle = await mine({ url: 'https://example.com/Needle/page' });
      const byCode = await mine({ code: `NdL${randomBytes(3).toString('hex').slice(0, 5)}`, url: 'https://example.com/other' });
      const percent = await mine({ url: 'https://example.com/100%25off' });
      const disabled = await mine({ url: 'https://example.com/needle-disabled' });
      await store.updateById(disabled.id, { isActive: false });
      const expired = await mine({ url: 'https://example.com/needle-expired', expiresAt: new Date(now.getTime() - 1000) });
      const later = await mine({ url: 'https://example.com/later', expiresAt: new Date(now.getTime() + HOUR) });
      const used = await mine({ url: 'https://example.com/used', isOneTime: true });
      assert.equal(await store.consumeOneTime(used.code, now), true);
      const codes = async (options: Omit<ListOptions, 'limit' | 'ownerKeyId'>) => (await store.list({ ownerKeyId: owner.id, limit: 50, ...options })).map((l) => l.code).sort();

      assert.deepEqual(await codes({ search: 'NEEDLE' }), [needle.code, disabled.code, expired.code].sort());
      assert.deepEqual(await codes({ search: 'ndl' }), [byCode.code], 'the code is searched too');
      assert.deepEqual(await codes({ search: '0%25O' }), [percent.code]);
      assert.deepEqual(await codes({ search: '_' }), [], 'an underscore is a character, not a wildcard');
      assert.deepEqual(await codes({ search: '%' }), [percent.code], 'a percent sign is a character');
      assert.deepEqual(await codes({ search: '\\' }), []);
      assert.deepEqual(await codes({ search: '' }), (await codes({})), 'empty: no filter');
      assert.deepEqual(await codes({ state: 'disabled', now }), [disabled.code]);
      assert.deepEqual(await codes({ state: 'expired', now }), [expired.code], 'an expiry already past counts before the sweep marks it');
      assert.deepEqual(await codes({ state: 'used', now }), [used.code]);
      assert.deepEqual(await codes({ state: 'active', now }), [needle.code, byCode.code, percent.code, later.code].sort());
      assert.deepEqual(await codes({ state: 'expired', now: new Date(now.getTime() + 2 * HOUR) }), [expired.code, later.code].sort(), 'judged at `now`');
      assert.deepEqual(await codes({ search: 'needle', state: 'active', now }), [needle.code]);
      // Pages keep the filter: the keyset cursor walks only the matching links.
      const firstPage = await store.list({ ownerKeyId: owner.id, limit: 1, search: 'needle' });
      const secondPage = await store.list({ ownerKeyId: owner.id, limit: 5, search: 'needle', beforeId: firstPage[0]?.id ?? 0 });
      assert.deepEqual([...firstPage, ...secondPage].map((l) => l.code), [expired.code, disabled.code, needle.code]);
    });

    test('applyClicks with a batch id is idempotent (a retried flush counts once); old ids can be pruned', async () => {
      const a = await store.insert(link());
      const batch: ClickAggregate[] = [{ linkId: a.id, clicks: 4, lastClickedAt: new Date('2026-02-01T00:00:00Z'), days: new Map([['2026-02-01', 4]]), referrers: new Map([['(direct)', 4]]) }];
      const id = randomUUID();
      await store.applyClicks(batch, id);
      await store.applyClicks(batch, id);
      await store.applyClicks(batch, randomUUID());
      assert.equal((await store.findByCode(a.code))?.clicks, 8, 'the repeated id added nothing');
      assert.deepEqual((await store.analytics(a.id, { days: 90, referrers: 10 })).daily, [{ date: '2026-02-01', clicks: 8 }]);
      assert.ok((await store.pruneClickBatches(new Date(Date.now() + HOUR))) >= 2);
      await store.applyClicks(batch, id);
      assert.equal((await store.findByCode(a.code))?.clicks, 12, 'a pruned id is forgotten');
    });

    test('applyClicks writes a batch of thousands of links whole, once, and a retry adds nothing', async () => {
      // A flush's batch at scale (docs/performance.md, "Clicks at scale"), with one deleted link among them.
      const count = 2500;
      const inserted = await Promise.all(Array.from({ length: count }, () => store.insert(link())));
      const deleted = inserted[1700];
      if (deleted) await store.deleteById(deleted.id);
      const batch: ClickAggregate[] = inserted.map((l, i) => ({
        linkId: l.id,
        clicks: 1 + (i % 3),
        lastClickedAt: new Date('2026-03-01T00:00:00Z'),
        days: new Map([['2026-03-01', 1 + (i % 3)]]),
        referrers: new Map([[i % 2 === 0 ? '(direct)' : 'news.example', 1 + (i % 3)]]),
      }));
      const id = randomUUID();
      await store.applyClicks(batch, id);
      await store.applyClicks(batch, id);
      for (const i of [0, 999, 1000, 1999, 2000, count - 1]) {
        const l = inserted[i];
        assert.equal((await store.findByCode(l?.code ?? ''))?.clicks, 1 + (i % 3), `link ${i}`);
        assert.deepEqual((await store.analytics(l?.id ?? 0, { days: 90, referrers: 10 })).daily, [{ date: '2026-03-01', clicks: 1 + (i % 3) }], `days of link ${i}`);
      }
      assert.equal(await store.findByCode(deleted?.code ?? ''), null, 'the deleted link stays deleted');
    });

    test('applyClicks adds totals, days and referrers in one batch; clicks of a deleted link are dropped', async () => {
      const a = await store.insert(link());
      const b = await store.insert(link());
      const gone = await store.insert(link());
      await store.deleteById(gone.id);
      const at = (iso: string) => new Date(iso);
      const aggregate = (linkId: number, clicks: number, last: string, days: [string, number][], referrers: [string, number][]): ClickAggregate => ({
        linkId,
        clicks,
        lastClickedAt: at(last),
        days: new Map(days),
        referrers: new Map(referrers),
      });
      await store.applyClicks([
        aggregate(a.id, 3, '2026-01-02T10:00:00Z', [['2026-01-01', 1], ['2026-01-02', 2]], [['(direct)', 2], ['news.example', 1]]),
        aggregate(gone.id, 5, '2026-01-02T10:00:00Z', [['2026-01-02', 5]], [['(direct)', 5]]),
        aggregate(b.id, 1, '2026-01-02T09:00:00Z', [['2026-01-02', 1]], [['(direct)', 1]]),
      ]);
      await store.applyClicks([aggregate(a.id, 2, '2026-01-01T00:00:00Z', [['2026-01-02', 2]], [['news.example', 2]])]);
      await store.applyClicks([]);
      const after = await store.findByCode(a.code);
      assert.equal(after?.clicks, 5);
      assert.equal(after?.lastClickedAt?.toISOString(), '2026-01-02T10:00:00.000Z', 'the latest click wins');
      assert.deepEqual(await store.analytics(a.id, { days: 90, referrers: 10 }), {
        daily: [
          { date: '2026-01-01', clicks: 1 },
          { date: '2026-01-02', clicks: 4 },
        ],
        referrers: [
          { host: 'news.example', clicks: 3 },
          { host: '(direct)', clicks: 2 },
        ],
      });
      assert.deepEqual(await store.analytics(a.id, { days: 1, referrers: 1 }), { daily: [{ date: '2026-01-02', clicks: 4 }], referrers: [{ host: 'news.example', clicks: 3 }] });
      assert.equal((await store.findByCode(b.code))?.clicks, 1);
    });

    test('markExpired marks only links past their expiry, at most `limit` at a time', async () => {
      const now = Date.now();
      const due = [await store.insert(link({ expiresAt: new Date(now + 1000) })), await store.insert(link({ expiresAt: new Date(now + 2000) }))];
      const later = await store.insert(link({ expiresAt: new Date(now + HOUR) }));
      const sweepAt = new Date(now + 5000);
      let marked = 0;
      for (let n = await store.markExpired(sweepAt, 1); n > 0; n = await store.markExpired(sweepAt, 1)) marked += n;
      assert.ok(marked >= 2);
      for (const l of due) assert.equal((await store.findByCode(l.code))?.isExpired, true);
      assert.equal((await store.findByCode(later.code))?.isExpired, false);
    });

    test('API keys: found by hash, ensure is idempotent, hasAdminKey sees only admin keys', async () => {
      const keys = subject.apiKeys;
      const plain = newKey(false);
      const inserted = await keys.insert(plain);
      assert.deepEqual(await keys.findByHash(plain.hash), inserted);
      assert.equal(await keys.findByHash(createHash('sha256').update('nobody').digest()), null);
      assert.equal(await keys.hasAdminKey(), false);
      const admin = newKey(true);
      const ensured = await keys.ensure(admin);
      assert.deepEqual(await keys.ensure(admin), ensured);
      assert.equal(ensured.isAdmin, true);
      assert.equal(await keys.hasAdminKey(), true);
    });

    test('API keys: listed oldest first with revoked ones, found by id, revoked once (the first time is kept)', async () => {
      const keys = subject.apiKeys;
      const first = await keys.insert(newKey(false));
      const second = await keys.insert(newKey(true));
      const ids = (await keys.list()).map((k) => k.id);
      assert.deepEqual(ids.filter((id) => id === first.id || id === second.id), [first.id, second.id]);
      assert.deepEqual(await keys.findById(second.id), second);
      assert.equal(await keys.findById(Number.MAX_SAFE_INTEGER), null);
      const revoked = await keys.revoke(first.id);
      assert.ok(revoked?.revokedAt instanceof Date);
      assert.deepEqual({ ...revoked, revokedAt: null }, first);
      assert.deepEqual(await keys.revoke(first.id), revoked, 'revoking again keeps the first revocation time');
      assert.deepEqual((await keys.list()).find((k) => k.id === first.id), revoked);
      assert.equal(await keys.revoke(Number.MAX_SAFE_INTEGER), null);
    });

    test('ping answers', async () => {
      await store.ping();
    });
  });
}
