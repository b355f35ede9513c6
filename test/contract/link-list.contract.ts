// What every LinkStore adapter must do for GET /urls: tags, every filter, every sort in both orders,
// and cursor walks that neither skip nor repeat a link (ties, never-clicked links, inserts between
// pages). Run by test/integration/link-store-contract.test.ts once per adapter (PostgreSQL, PGlite).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { listPosition, type LinkRecord, type ListOptions, type ListOrder, type ListSort, type NewLink } from '../../src/storage/link-store.ts';
import type { LinkStoreSubject } from './link-store.contract.ts';

const SORTS: readonly ListSort[] = ['created', 'clicks', 'last_click'];
const ORDERS: readonly ListOrder[] = ['desc', 'asc'];

/** The order GET /urls promises, computed here: the key, then the id in the same direction; never-clicked last. */
function expectedOrder(links: readonly LinkRecord[], sort: ListSort, order: ListOrder): number[] {
  const sign = order === 'desc' ? -1 : 1;
  const key = (l: LinkRecord): number | null => (sort === 'clicks' ? l.clicks : sort === 'last_click' ? (l.lastClickedAt?.getTime() ?? null) : 0);
  return [...links]
    .sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      if (ka === null || kb === null) return ka === kb ? sign * (a.id - b.id) : ka === null ? 1 : -1;
      return sign * (ka - kb) || sign * (a.id - b.id);
    })
    .map((l) => l.id);
}

export function linkListContract(adapter: string, open: () => Promise<LinkStoreSubject>): void {
  describe(`LinkStore listing contract: ${adapter}`, () => {
    let subject: LinkStoreSubject;
    const run = randomBytes(3).toString('hex').slice(0, 4);
    let n = 0;
    const link = (extra: Partial<NewLink> = {}): NewLink => ({
      code: `t${run}${n++}`,
      url: 'https://example.com/list',
      expiresAt: null,
      isOneTime: false,
      isCustomAlias: false,
      ownerKeyId: null,
      ...extra,
    });
    const newOwner = async () => {
      const key = randomBytes(16).toString('hex');
      return subject.apiKeys.insert({ hash: createHash('sha256').update(key).digest(), keyPrefix: key.slice(0, 12), name: 'list', isAdmin: false });
    };
    /** Sets a link's clicks and last click as a flush would. */
    const click = (linkId: number, clicks: number, lastClickedAt: Date | null) =>
      subject.store.applyClicks([{ linkId, clicks, botHits: 0, lastClickedAt, days: new Map() }]);
    /** Every page of a listing, `limit` at a time, following each page's last link as the cursor does. */
    const walk = async (options: ListOptions, between?: (page: number) => Promise<void>): Promise<number[]> => {
      const seen: number[] = [];
      let position: ListOptions['after'];
      for (let page = 0; page < 100; page++) {
        const links = await subject.store.list({ ...options, ...(position === undefined ? {} : { after: position }) });
        seen.push(...links.map((l) => l.id));
        const last = links.at(-1);
        if (links.length < options.limit || last === undefined) return seen;
        position = listPosition(last, options.sort ?? 'created');
        await between?.(page);
      }
      throw new Error('the walk did not end');
    };

    before(async () => {
      subject = await open();
    });
    after(() => subject.close());

    test('tags are stored as given (normalised by the domain), read back, replaced whole by updateById, and [] removes them', async () => {
      const created = await subject.store.insert(link({ tags: ['launch', 'q3/2026', 'team:web'] }));
      assert.deepEqual(created.tags, ['launch', 'q3/2026', 'team:web']);
      assert.deepEqual((await subject.store.findByCode(created.code))?.tags, ['launch', 'q3/2026', 'team:web']);
      assert.deepEqual((await subject.store.insert(link())).tags, [], 'no tags: an empty list');
      assert.deepEqual((await subject.store.updateById(created.id, { tags: ['other'] }))?.tags, ['other']);
      assert.deepEqual((await subject.store.updateById(created.id, { isActive: false }))?.tags, ['other'], 'another change keeps the tags');
      assert.deepEqual((await subject.store.updateById(created.id, { tags: [] }))?.tags, []);
    });

    test('a batch of concurrent inserts keeps each link its own tags', async () => {
      const links = await Promise.all(Array.from({ length: 20 }, (_, i) => subject.store.insert(link({ tags: i % 2 === 0 ? [`even`, `n${i}`] : [] }))));
      links.forEach((l, i) => assert.deepEqual(l.tags, i % 2 === 0 ? ['even', `n${i}`] : []));
    });

    test('filters: every tag given must be there; created and expiry ranges are half-open; no expiry matches no expiry bound; filters combine', async () => {
      const owner = await newOwner();
      const soon = new Date(Date.now() + 3600_000);
      const later = new Date(Date.now() + 7200_000);
      const a = await subject.store.insert(link({ ownerKeyId: owner.id, tags: ['blue', 'red'], expiresAt: soon, url: 'https://example.com/needle' }));
      const b = await subject.store.insert(link({ ownerKeyId: owner.id, tags: ['blue'], expiresAt: later }));
      const c = await subject.store.insert(link({ ownerKeyId: owner.id, tags: ['red'] }));
      await subject.store.insert(link({ tags: ['blue', 'red'] })); // another owner's
      const ids = async (options: Omit<ListOptions, 'ownerKeyId' | 'limit'>) => (await subject.store.list({ ownerKeyId: owner.id, limit: 50, ...options })).map((l) => l.id).sort((x, y) => x - y);
      assert.deepEqual(await ids({ tags: ['blue'] }), [a.id, b.id]);
      assert.deepEqual(await ids({ tags: ['blue', 'red'] }), [a.id]);
      assert.deepEqual(await ids({ tags: ['green'] }), []);
      assert.deepEqual(await ids({ tags: ['red'], search: 'needle' }), [a.id]);
      assert.deepEqual(await ids({ tags: ['red'], state: 'active', now: new Date() }), [a.id, c.id]);
      assert.deepEqual(await ids({ createdAfter: a.createdAt }), [a.id, b.id, c.id], 'created_after includes its instant');
      assert.deepEqual(await ids({ createdBefore: a.createdAt }), [], 'created_before excludes its instant');
      assert.deepEqual(await ids({ createdAfter: new Date(c.createdAt.getTime() + 1) }), []);
      assert.deepEqual(await ids({ expiresAfter: new Date(0) }), [a.id, b.id], 'a link that never expires matches no expiry bound');
      assert.deepEqual(await ids({ expiresBefore: later }), [a.id], 'expires_before excludes its instant');
      assert.deepEqual(await ids({ expiresAfter: later }), [b.id]);
      assert.deepEqual(await ids({ expiresAfter: soon, expiresBefore: later, tags: ['blue'] }), [a.id]);
    });

    test('a created range far back, with links days apart in id order: both orders, walked 2 at a time, give exactly the range (the store bounds the id walk by the range)', async () => {
      const owner = await newOwner();
      const made: LinkRecord[] = [];
      for (let i = 0; i < 12; i++) made.push(await subject.store.insert(link({ ownerKeyId: owner.id })));
      // Created a day apart, oldest first, as links created over twelve days would be.
      const day0 = Date.parse('2025-03-01T00:00:00Z');
      for (const [i, l] of made.entries()) await subject.db.query('UPDATE urls SET created_at = $2 WHERE id = $1', [l.id, new Date(day0 + i * 86_400_000)]);
      const days = (from: number, to: number) => made.slice(from, to).map((l) => l.id);
      const range = { createdAfter: new Date(day0 + 3 * 86_400_000), createdBefore: new Date(day0 + 7 * 86_400_000) };
      for (const order of ORDERS) {
        const expected = order === 'asc' ? days(3, 7) : days(3, 7).reverse();
        assert.deepEqual(await walk({ ownerKeyId: owner.id, limit: 2, order, ...range }), expected, `days 3 to 6, ${order}`);
        assert.deepEqual(await walk({ ownerKeyId: owner.id, limit: 5, order, createdBefore: range.createdAfter }), order === 'asc' ? days(0, 3) : days(0, 3).reverse(), `before day 3, ${order}`);
        assert.deepEqual(await walk({ ownerKeyId: owner.id, limit: 5, order, createdAfter: range.createdBefore }), order === 'asc' ? days(7, 12) : days(7, 12).reverse(), `from day 7, ${order}`);
      }
      // Bounds a minute off each end, within the hour the id bounds keep in hand.
      const edges = { createdAfter: new Date(day0 + 3 * 86_400_000 - 60_000), createdBefore: new Date(day0 + 7 * 86_400_000 + 60_000) };
      assert.deepEqual(await walk({ ownerKeyId: owner.id, limit: 3, ...edges }), days(3, 8).reverse(), 'day 7 at 00:00 is inside a bound at 00:01');
      assert.deepEqual(await walk({ ownerKeyId: owner.id, limit: 3, ...range, sort: 'clicks' }), expectedOrder(made.slice(3, 7), 'clicks', 'desc'), 'other sorts filter the same range');
    });

    test('every sort in both orders: ties by id in the same direction, never-clicked last in both; pages of 2 walk it whole, once', async () => {
      const owner = await newOwner();
      const links: LinkRecord[] = [];
      for (let i = 0; i < 9; i++) links.push(await subject.store.insert(link({ ownerKeyId: owner.id })));
      const t = Date.parse('2026-03-01T10:00:00.123Z');
      // Clicks with ties (3, 3, 3 and 1, 1) and last clicks with ties; four links never clicked.
      const plan: [number, number, number | null][] = [
        [0, 3, t],
        [1, 1, t + 5],
        [2, 3, t],
        [4, 3, t + 9],
        [6, 1, t - 7],
      ];
      for (const [i, clicks, at] of plan) await click(links[i]?.id ?? 0, clicks, at === null ? null : new Date(at));
      const stored = await Promise.all(links.map(async (l) => (await subject.store.findByCode(l.code)) as LinkRecord));
      for (const sort of SORTS) {
        for (const order of ORDERS) {
          const expected = expectedOrder(stored, sort, order);
          assert.deepEqual(await walk({ ownerKeyId: owner.id, limit: 2, sort, order }), expected, `${sort} ${order}, pages of 2`);
          assert.deepEqual(await walk({ ownerKeyId: owner.id, limit: 4, sort, order }), expected, `${sort} ${order}, pages of 4`);
          assert.deepEqual((await subject.store.list({ ownerKeyId: owner.id, limit: 100, sort, order })).map((l) => l.id), expected, `${sort} ${order}, one page`);
        }
      }
      const lastClickDesc = expectedOrder(stored, 'last_click', 'desc');
      assert.deepEqual(lastClickDesc.slice(-4), [links[8], links[7], links[5], links[3]].map((l) => l?.id), 'never clicked: last, newest first');
      assert.deepEqual(expectedOrder(stored, 'last_click', 'asc').slice(-4), [links[3], links[5], links[7], links[8]].map((l) => l?.id), 'never clicked: last in asc too, oldest first');
    });

    test('a cursor walk is stable under inserts between pages: every link there at the start comes exactly once, in order', async () => {
      const owner = await newOwner();
      const existing: LinkRecord[] = [];
      for (let i = 0; i < 10; i++) existing.push(await subject.store.insert(link({ ownerKeyId: owner.id, tags: ['walk'] })));
      for (const [i, l] of existing.entries()) if (i % 2 === 0) await click(l.id, i % 4, new Date(Date.parse('2026-04-01T00:00:00Z') + i * 1000));
      const stored = await Promise.all(existing.map(async (l) => (await subject.store.findByCode(l.code)) as LinkRecord));
      for (const sort of SORTS) {
        for (const order of ORDERS) {
          const added: number[] = [];
          const seen = await walk({ ownerKeyId: owner.id, limit: 3, sort, order, tags: ['walk'] }, async () => {
            added.push((await subject.store.insert(link({ ownerKeyId: owner.id, tags: ['walk'] }))).id);
          });
          const old = new Set(stored.map((l) => l.id));
          assert.deepEqual(seen.filter((id) => old.has(id)), expectedOrder(stored, sort, order), `${sort} ${order}: the links of the start, each once, in order`);
          assert.equal(new Set(seen).size, seen.length, `${sort} ${order}: no link twice`);
          // The new links have the largest ids and no clicks: desc created puts them before the cursor, so none shows.
          if (sort === 'created' && order === 'desc') assert.deepEqual(seen.filter((id) => !old.has(id)), []);
          await Promise.all(added.map((id) => subject.store.deleteById(id)));
        }
      }
    });

    test('a page that crosses from clicked to never-clicked links, and a cursor among the never-clicked, continue exactly', async () => {
      const owner = await newOwner();
      const links: LinkRecord[] = [];
      for (let i = 0; i < 5; i++) links.push(await subject.store.insert(link({ ownerKeyId: owner.id })));
      await click(links[1]?.id ?? 0, 2, new Date('2026-05-01T00:00:00.001Z'));
      await click(links[3]?.id ?? 0, 1, new Date('2026-05-02T00:00:00.002Z'));
      const ids = (ls: LinkRecord[]) => ls.map((l) => l.id);
      const first = await subject.store.list({ ownerKeyId: owner.id, limit: 3, sort: 'last_click' });
      assert.deepEqual(ids(first), [links[3], links[1], links[4]].map((l) => l?.id), 'two clicked, then the newest never clicked');
      const next = await subject.store.list({ ownerKeyId: owner.id, limit: 3, sort: 'last_click', after: { id: links[4]?.id ?? 0, key: null } });
      assert.deepEqual(ids(next), [links[2], links[0]].map((l) => l?.id));
      const asc = await subject.store.list({ ownerKeyId: owner.id, limit: 10, sort: 'last_click', order: 'asc', after: { id: links[1]?.id ?? 0, key: new Date('2026-05-01T00:00:00.001Z') } });
      assert.deepEqual(ids(asc), [links[3], links[0], links[2], links[4]].map((l) => l?.id));
    });
  });
}
