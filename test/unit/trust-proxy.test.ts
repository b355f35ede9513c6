// TRUST_PROXY decides whose word the client address is: only the proxies an operator names (by count
// or address) may set X-Forwarded-For, so a client cannot pick its own address and walk around the
// per-IP rate limit (docs/operations.md, "Behind a proxy or ingress").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import proxyAddr from 'proxy-addr';
import { loadUrlServiceConfig } from '../../src/core/config.ts';
import { createHttpApp } from '../../src/core/http-app.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { testLogger } from '../support/log.ts';
import { testVisitors } from '../support/visitors.ts';

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

test('TRUST_PROXY with a /0 range is refused at start-up like true: it would trust every sender', () => {
  for (const raw of ['0.0.0.0/0', '::/0', '10.0.0.1, ::/0', '10.0.0.0/00', '192.0.2.1/000']) {
    assert.throws(() => loadUrlServiceConfig({ ...base, TRUST_PROXY: raw }), (err: Error) => {
      assert.match(err.message, /^Invalid configuration: TRUST_PROXY must not name a \/0 range .*any client picks its own address.*number of proxies.*addresses/m, raw);
      assert.equal(err.message.split('\n').length, 1, raw);
      return true;
    });
  }
});

/** Whether the config loader takes this one address or range as TRUST_PROXY. */
function configAccepts(item: string): boolean {
  try {
    loadUrlServiceConfig({ ...base, TRUST_PROXY: item });
    return true;
  } catch (err) {
    assert.match(String(err), /TRUST_PROXY must/, item);
    return false;
  }
}

test('every address or range the config takes for TRUST_PROXY, the service compiles when it starts (proxy-addr and Fastify)', async () => {
  const odd = [
    // IPv4-mapped, as an address and as ranges (a mapped /104 is 10.0.0.0/8; past 128 is no range)
    '::ffff:127.0.0.1', '::ffff:10.0.0.0/104', '::ffff:10.0.0.0/129',
    // leading zeros: in a prefix they are a number, in an address Node reads none and proxy-addr octal
    '10.0.0.0/08', '10.0.0.0/008', '010.0.0.1', '0x7f.0.0.1',
    // prefixes at and past the family's bound, and a netmask
    '10.0.0.1/32', '10.0.0.0/33', '::1/128', '::1/129', '10.0.0.0/255.0.0.0', '1.2.3.4/1', '::/1',
    // an IPv4 tail after anything but ::ffff: (Node reads it, proxy-addr does not)
    '::1.2.3.4', '2001:db8::1.2.3.4', '64:ff9b::1.2.3.4/96',
    // zones: proxy-addr reads letters and digits only
    'fe80::1%eth0', 'fe80::1%eth0/64', 'fe80::1%eth0.1', 'fe80::1%a-b',
    'loopback', 'linklocal', 'uniquelocal',
  ];
  const accepted = odd.filter(configAccepts);
  assert.deepEqual(accepted, [
    '::ffff:127.0.0.1', '::ffff:10.0.0.0/104', '10.0.0.0/08', '10.0.0.0/008', '10.0.0.1/32', '::1/128', '1.2.3.4/1', '::/1',
    'fe80::1%eth0', 'fe80::1%eth0/64', 'loopback', 'linklocal', 'uniquelocal',
  ]);
  for (const item of accepted) {
    assert.doesNotThrow(() => proxyAddr.compile(item), item);
    // The two places that compile it at start-up: the click pipeline (proxy-addr) and Fastify (@fastify/proxy-addr).
    assert.doesNotThrow(() => testVisitors([item]), item);
    const app = await createHttpApp({ log: testLogger(), registry: createRegistry({ defaultMetrics: false }), title: 't', description: 't', version: '0', trustProxy: [item] });
    await app.close();
  }
  // What start-up refuses, with proxy-addr's words, is what the config now refuses in its own.
  for (const item of ['0.0.0.0/0', '::/0', '::1.2.3.4', 'fe80::1%eth0.1']) {
    assert.throws(() => testVisitors([item]), /invalid (range on )?(IP )?address/, item);
    assert.equal(configAccepts(item), false, item);
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
