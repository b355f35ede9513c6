// TRUST_PROXY decides whose word the client address is: only the proxies an operator names (by count
// or address) may set X-Forwarded-For, so a client cannot pick its own address and walk around the
// per-IP rate limit (docs/operations.md, "Behind a proxy or ingress").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadUrlServiceConfig } from '../../src/core/config.ts';
import { createHttpApp } from '../../src/core/http-app.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { testLogger } from '../support/log.ts';

const base = { KGS_TOKEN: 't' };

test('TRUST_PROXY=true is refused at start-up with one line asking for a hop count or addresses', () => {
  assert.throws(() => loadUrlServiceConfig({ ...base, TRUST_PROXY: 'true' }), (err: Error) => {
    assert.match(err.message, /^Invalid configuration: TRUST_PROXY must not be true .*number of proxies.*addresses/m);
    assert.equal(err.message.split('\n').length, 1);
    return true;
  });
});

test('TRUST_PROXY takes false, a hop count or a list of addresses and CIDRs, and nothing else', () => {
  assert.equal(loadUrlServiceConfig(base).trustProxy, false);
  assert.equal(loadUrlServiceConfig({ ...base, TRUST_PROXY: 'false' }).trustProxy, false);
  assert.equal(loadUrlServiceConfig({ ...base, TRUST_PROXY: '2' }).trustProxy, 2);
  assert.deepEqual(loadUrlServiceConfig({ ...base, TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1,fd00::/8' }).trustProxy, ['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8']);
  for (const bad of ['ingress', '10.0.0.0/33', '10.0.0.1/8/2', '300.1.1.1', 'yes']) {
    assert.throws(() => loadUrlServiceConfig({ ...base, TRUST_PROXY: bad }), /TRUST_PROXY must/, bad);
  }
});

/** The client address a request gets, as the per-IP rate limit sees it (request.ip). */
async function clientAddress(trustProxy: false | number | string[], peer: string, forwardedFor: string): Promise<string> {
  const app = await createHttpApp({ log: testLogger(), registry: createRegistry({ defaultMetrics: false }), title: 't', description: 't', version: '0', trustProxy });
  app.get('/ip', async (request) => ({ ip: request.ip }));
  try {
    const res = await app.inject({ url: '/ip', remoteAddress: peer, headers: { 'x-forwarded-for': forwardedFor } });
    return res.json<{ ip: string }>().ip;
  } finally {
    await app.close();
  }
}

test('with one trusted hop, an address a client puts in X-Forwarded-For is not taken as its own', async () => {
  // The client sent "X-Forwarded-For: 7.7.7.7"; the ingress (10.0.0.2) appended the address it saw.
  assert.equal(await clientAddress(1, '10.0.0.2', '7.7.7.7, 10.0.0.1'), '10.0.0.1');
  assert.equal(await clientAddress(2, '10.0.0.2', '7.7.7.7, 10.0.0.1'), '7.7.7.7', 'two hops trusted: one step further left');
});

test('with trusted proxy addresses, only those proxies may set the client address', async () => {
  assert.equal(await clientAddress(['10.0.0.0/8'], '10.0.0.2', '7.7.7.7, 198.51.100.9'), '198.51.100.9', 'the first address outside the trusted range');
  assert.equal(await clientAddress(['10.0.0.0/8'], '203.0.113.5', '7.7.7.7'), '203.0.113.5', 'a client talking directly cannot set it');
});

test('without TRUST_PROXY the socket address is the client, whatever the header says', async () => {
  assert.equal(await clientAddress(false, '203.0.113.5', '7.7.7.7'), '203.0.113.5');
});
