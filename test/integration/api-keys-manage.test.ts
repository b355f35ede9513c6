// Listing and revoking API keys through the real app: an admin key sees and revokes every key, any
// other key only itself; a revoked key is refused at once, though it was cached a moment before.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { ApiKeyInfo } from '../../src/client/curt-client.ts';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';

type KeyInfo = ApiKeyInfo;

function assertProblem(res: LightMyRequestResponse, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(res.json<{ code: string }>().code, code);
}

describe('GET /api-keys and DELETE /api-keys/{id}', () => {
  let svc: TestUrlService;
  before(async () => {
    svc = await buildTestUrlService('api_keys_manage');
  });
  after(() => svc.close());

  const list = async (headers: Record<string, string>): Promise<KeyInfo[]> => {
    const res = await svc.app.inject({ method: 'GET', url: '/api-keys', headers });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ items: KeyInfo[] }>().items;
  };
  const idOf = async (name: string): Promise<number> => {
    const found = (await list(svc.admin)).find((k) => k.name === name);
    assert.ok(found, name);
    return found.id;
  };

  test('an admin key lists every key with its prefix, never the key itself', async () => {
    const alice = await svc.userKey('alice');
    const items = await list(svc.admin);
    assert.deepEqual(
      items.map((k) => [k.name, k.is_admin, k.revoked_at]),
      [
        ['test admin', true, null],
        ['alice', false, null],
      ],
    );
    const aliceKey = alice.authorization.slice('Bearer '.length);
    const aliceInfo = items[1];
    assert.ok(aliceInfo && aliceKey.startsWith(aliceInfo.key_prefix) && aliceInfo.key_prefix.length === 12);
    assert.ok(!JSON.stringify(items).includes(aliceKey), 'no key in the listing');
  });

  test('a key that is not an admin key lists only itself, and cannot revoke another', async () => {
    const bob = await svc.userKey('bob');
    const carol = await svc.userKey('carol');
    assert.deepEqual((await list(bob)).map((k) => k.name), ['bob']);
    assertProblem(await svc.app.inject({ method: 'DELETE', url: `/api-keys/${await idOf('carol')}`, headers: bob }), 403, 'forbidden');
    assertProblem(await svc.app.inject({ method: 'GET', url: '/api-keys' }), 401, 'unauthorized');
    assert.equal((await svc.app.inject({ method: 'GET', url: '/urls', headers: carol })).statusCode, 200, 'carol still works');
  });

  test('a key revoking itself is refused from the next request on', async () => {
    const dave = await svc.userKey('dave');
    assert.equal((await svc.app.inject({ method: 'GET', url: '/urls', headers: dave })).statusCode, 200, 'dave works, and is now cached');
    const res = await svc.app.inject({ method: 'DELETE', url: `/api-keys/${await idOf('dave')}`, headers: dave });
    assert.equal(res.statusCode, 204, res.body);
    assertProblem(await svc.app.inject({ method: 'GET', url: '/urls', headers: dave }), 401, 'unauthorized');
  });

  test('an admin revokes any key at once; revoking again is no error; the listing shows when', async () => {
    const erin = await svc.userKey('erin');
    assert.equal((await svc.app.inject({ method: 'POST', url: '/urls', headers: erin, payload: { url: 'https://example.com/erin' } })).statusCode, 201);
    const id = await idOf('erin');
    assert.equal((await svc.app.inject({ method: 'DELETE', url: `/api-keys/${id}`, headers: svc.admin })).statusCode, 204);
    assertProblem(await svc.app.inject({ method: 'POST', url: '/urls', headers: erin, payload: { url: 'https://example.com/erin2' } }), 401, 'unauthorized');
    assert.equal((await svc.app.inject({ method: 'DELETE', url: `/api-keys/${id}`, headers: svc.admin })).statusCode, 204);
    const info = (await list(svc.admin)).find((k) => k.id === id);
    assert.ok(info?.revoked_at !== null && !Number.isNaN(Date.parse(info?.revoked_at ?? '')));
  });

  test('an unknown id is a 404 problem, and a malformed one a 400', async () => {
    assertProblem(await svc.app.inject({ method: 'DELETE', url: '/api-keys/999999', headers: svc.admin }), 404, 'api_key_not_found');
    const bad = await svc.app.inject({ method: 'DELETE', url: '/api-keys/abc', headers: svc.admin });
    assert.equal(bad.statusCode, 400, bad.body);
    assert.equal(bad.headers['content-type'], 'application/problem+json; charset=utf-8');
  });

  test('the OpenAPI document describes listing and revoking', async () => {
    const doc = (await svc.app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, Record<string, unknown>> }>();
    assert.ok(doc.paths['/api-keys']?.get, 'GET /api-keys');
    assert.ok(doc.paths['/api-keys/{id}']?.delete, 'DELETE /api-keys/{id}');
  });

  test('POST /api-keys with no body, or an empty JSON one, makes a key with the defaults (every field is optional)', async () => {
    const none = await svc.app.inject({ method: 'POST', url: '/api-keys', headers: svc.admin });
    assert.equal(none.statusCode, 201, none.body);
    assert.deepEqual([none.json<{ name: unknown }>().name, none.json<{ is_admin: boolean }>().is_admin], [null, false]);
    const empty = await svc.app.inject({ method: 'POST', url: '/api-keys', headers: { ...svc.admin, 'content-type': 'application/json' } });
    assert.equal(empty.statusCode, 201, empty.body);
    // A route with a required field still says an empty body is empty.
    assertProblem(await svc.app.inject({ method: 'POST', url: '/urls', headers: { ...svc.admin, 'content-type': 'application/json' } }), 400, 'malformed_json');
  });

  test('POST /api-keys with a JSON null body is 400 "The body must be an object.", as on POST /urls, and mints no key', async () => {
    const before = (await list(svc.admin)).length;
    const json = { ...svc.admin, 'content-type': 'application/json' };
    for (const url of ['/api-keys', '/urls']) {
      const res = await svc.app.inject({ method: 'POST', url, headers: json, payload: 'null' });
      assertProblem(res, 400, 'invalid_request');
      assert.equal(res.json<{ detail: string }>().detail, 'The body must be an object.', url);
    }
    assert.equal((await list(svc.admin)).length, before, 'no key minted');
  });

  test('the answers that show keys are never stored by a cache (Cache-Control: no-store)', async () => {
    const minted = await svc.app.inject({ method: 'POST', url: '/api-keys', headers: svc.admin, payload: { name: 'uncached' } });
    assert.equal(minted.statusCode, 201, minted.body);
    assert.equal(minted.headers['cache-control'], 'no-store', 'POST /api-keys: the new key');
    const none = await svc.app.inject({ method: 'POST', url: '/api-keys', headers: svc.admin });
    assert.equal(none.headers['cache-control'], 'no-store', 'POST /api-keys without a body');
    const key = minted.json<{ key: string }>().key;
    for (const headers of [svc.admin, { authorization: `Bearer ${key}` }]) {
      const listed = await svc.app.inject({ method: 'GET', url: '/api-keys', headers });
      assert.equal(listed.statusCode, 200, listed.body);
      assert.equal(listed.headers['cache-control'], 'no-store', 'GET /api-keys');
    }
  });
});
