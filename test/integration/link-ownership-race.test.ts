// Update and delete act on the link whose ownership was checked, not on whatever holds its code by
// the time they write: between the check and the write the link can be deleted and its code (an
// alias past a short cool-down) claimed by someone else, whose link must stay as it is.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { LinkNotFound } from '../../src/core/errors.ts';
import type { ApiKeyRecord, LinkRecord, LinkStore } from '../../src/storage/link-store.ts';
import { createPgApiKeyStore, createPgLinkStore } from '../../src/storage/postgres/pg-link-store.ts';
import { hashApiKey } from '../../src/url/api-keys.ts';
import { createLinkService, type LinkService } from '../../src/url/link-service.ts';
import { linkServiceOptions } from '../support/link-service.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

describe('update and delete never reach a link that took the checked code meanwhile', () => {
  let database: TestDatabase;
  let store: LinkStore;
  let links: LinkService;
  let alice: ApiKeyRecord;
  let bob: ApiKeyRecord;
  /** Runs once, right after the ownership check read the link: the interleaving of the race. */
  let afterCheck: ((checked: LinkRecord) => Promise<void>) | null = null;
  let n = 0;
  const alias = () => `race${randomBytes(2).toString('hex')}${n++}`;

  before(async () => {
    database = await createTestDatabase('ownership_race');
    store = createPgLinkStore(database.db);
    const keys = createPgApiKeyStore(database.db);
    const key = async (name: string) => {
      const secret = randomBytes(16).toString('hex');
      return keys.insert({ hash: hashApiKey(secret), keyPrefix: secret.slice(0, 12), name, isAdmin: false });
    };
    alice = await key('alice');
    bob = await key('bob');
    const racing: LinkStore = {
      ...store,
      async findByCode(code) {
        const found = await store.findByCode(code);
        const race = afterCheck;
        afterCheck = null;
        if (found !== null && race !== null) await race(found);
        return found;
      },
    };
    links = createLinkService(linkServiceOptions('ownership-race', { store: racing, allowAnonymous: false }));
  });
  after(() => database.drop());

  /** Alice's link on `code` is deleted and Bob claims the code, after Alice's ownership was checked. */
  function bobTakesOverAfterTheCheck(code: string): void {
    afterCheck = async (checked) => {
      await database.db.query('DELETE FROM urls WHERE id = $1', [checked.id]);
      await store.insert({ code, url: 'https://bob.example/', expiresAt: null, isOneTime: false, isCustomAlias: true, ownerKeyId: bob.id });
    };
  }

  test("an update whose link was replaced answers 404 and leaves the new owner's link unchanged", async () => {
    const code = alias();
    await store.insert({ code, url: 'https://alice.example/', expiresAt: null, isOneTime: false, isCustomAlias: true, ownerKeyId: alice.id });
    bobTakesOverAfterTheCheck(code);
    await assert.rejects(links.updateLink(code, { isActive: false }, { keyId: alice.id, isAdmin: false }), LinkNotFound);
    const now = await store.findByCode(code);
    assert.equal(now?.ownerKeyId, bob.id, "the code is Bob's");
    assert.equal(now?.isActive, true, "Bob's link was not disabled by Alice's request");
  });

  test("a deletion whose link was replaced answers 404 and leaves the new owner's link in place", async () => {
    const code = alias();
    await store.insert({ code, url: 'https://alice.example/', expiresAt: null, isOneTime: false, isCustomAlias: true, ownerKeyId: alice.id });
    bobTakesOverAfterTheCheck(code);
    await assert.rejects(links.deleteLink(code, { keyId: alice.id, isAdmin: false }), LinkNotFound);
    const now = await store.findByCode(code);
    assert.equal(now?.ownerKeyId, bob.id, "Bob's link still exists");
    assert.equal(now?.url, 'https://bob.example/');
  });
});
