// What webhook endpoints' owners are told (README, "Errors": no address, no socket error): a refused
// endpoint URL names the host, not what it resolved to; the delivery log says a failure in stable
// words and at most an error code, never the socket's message with its addresses and ports.
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import dns, { type LookupAddress } from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';
import { checkWebhookUrl, deliveryFailure, isNonPublicAddress, NonPublicTarget, publicOnlyLookup } from '../../src/url/webhook-target.ts';

const policy = { allowPrivate: false, ownHosts: ['short.example'], resolve: async (name: string) => ({ vm: ['10.0.3.7'], 'db.internal': ['203.0.113.5', '::1'], 'www.example': ['93.184.215.14'] })[name] ?? [] };

test('an endpoint whose name resolves to a private or loopback address is refused without the address', async () => {
  for (const [url, address] of [['http://vm/hook', '10.0.3.7'], ['https://db.internal/x', '::1']] as const) {
    await assert.rejects(checkWebhookUrl(url, policy), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'invalid_url');
      assert.match(err.message, /resolves to a loopback or private address/);
      assert.ok(!err.message.includes(address), err.message);
      return true;
    });
  }
  assert.equal(await checkWebhookUrl('https://www.example/hook', policy), 'https://www.example/hook');
});

test("a failed delivery is said in stable words, never with the socket's message", () => {
  const failure = (message: string, code?: string): string => deliveryFailure(Object.assign(new Error(message), code === undefined ? {} : { code }));
  const cases: [string, string | undefined, RegExp][] = [
    ['getaddrinfo ENOTFOUND hooks.internal.corp', 'ENOTFOUND', /^the endpoint's host name does not resolve$/],
    ['connect ECONNREFUSED 10.0.3.7:8443', 'ECONNREFUSED', /^the connection was refused$/],
    ['read ECONNRESET', 'ECONNRESET', /^the connection was reset$/],
    ['connect EHOSTUNREACH 10.9.9.9:443', 'EHOSTUNREACH', /^the endpoint's host is unreachable$/],
    ["Hostname/IP does not match certificate's altnames: IP: 10.0.3.7 is not in the cert's list", 'ERR_TLS_CERT_ALTNAME_INVALID', /^the TLS handshake failed \(ERR_TLS_CERT_ALTNAME_INVALID\)$/],
    ['self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT', /^the TLS handshake failed \(DEPTH_ZERO_SELF_SIGNED_CERT\)$/],
    ['Parse Error: Invalid header value char', 'HPE_INVALID_HEADER_TOKEN', /^the answer was not valid HTTP \(HPE_INVALID_HEADER_TOKEN\)$/],
    ['something at 10.0.3.7', 'ESOMETHINGNEW', /^the request failed \(ESOMETHINGNEW\)$/],
    ['at 10.0.3.7', 'weird code 10.0.3.7', /^the request failed$/],
    ['no code at 10.0.3.7:80', undefined, /^the request failed$/],
  ];
  for (const [message, code, words] of cases) assert.match(failure(message, code), words, message);
  const refused = deliveryFailure(new NonPublicTarget('rebind.example', '127.0.0.1'));
  assert.match(refused, /not a public address/);
  assert.ok(!refused.includes('127.0.0.1') && !refused.includes('rebind.example'));
});

// IPv6 addresses that tunnel to an IPv4 address: 6to4 (2002::/16, the IPv4 address in bits 16-47)
// and Teredo (2001:0::/32, the client's IPv4 address inverted in the last 32 bits, the server's in
// bits 32-63), judged by the IPv4 address they reach. 4136:e378 is the public server 65.54.227.120.
const TUNNELLED_NON_PUBLIC = [
  ['2002:a9fe:a9fe::', '6to4 of 169.254.169.254, the metadata address'],
  ['2002:a9fe:a9fe:1::1', '6to4 of 169.254.169.254, another host of its /48'],
  ['2002:7f00:1::', '6to4 of 127.0.0.1'],
  ['2002:a00:1::', '6to4 of 10.0.0.1'],
  ['2002:c0a8:101::', '6to4 of 192.168.1.1'],
  ['2002:A9FE:A9FE::', 'upper case'],
  ['2002:a9fe:a9fe::1.2.3.4', 'a dotted tail (the IPv4 address is in bits 16-47, not there)'],
  ['2001:0:4136:e378:8000:63bf:5601:5601', 'Teredo, client 169.254.169.254'],
  ['2001:0:4136:e378:8000:63bf:86.1.86.1', 'Teredo, client 169.254.169.254, dotted'],
  ['2001::80ff:fffe', 'Teredo, client 127.0.0.1 (server 0.0.0.0)'],
  ['2001:0:4136:e378::f5ff:fffe', 'Teredo, client 10.0.0.1'],
  ['2001:0:a00:1:8000:63bf:a247:28f1', 'Teredo, server 10.0.0.1'],
] as const;
const TUNNELLED_PUBLIC = [
  ['2002:5db8:d822::', '6to4 of 93.184.216.34'],
  ['2002:5db8:d70e:1::1', '6to4 of 93.184.215.14'],
  ['2001:0:4136:e378:8000:63bf:a247:28f1', 'Teredo, client 93.184.215.14'],
  ['2001:4860:4860::8888', 'in 2001::/16 but not Teredo (2001:0::/32)'],
] as const;

test('6to4 and Teredo addresses are judged by the IPv4 address they tunnel to', async () => {
  for (const [address, why] of TUNNELLED_NON_PUBLIC) {
    assert.equal(isNonPublicAddress(address), true, `${address}: ${why}`);
    assert.equal(isNonPublicAddress(`[${address}]`), true, `[${address}]: ${why}`);
    await assert.rejects(checkWebhookUrl(`http://[${address}]/x`, policy), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'invalid_url');
      assert.match(err.message, /must be on a public address/);
      return true;
    }, `${address}: ${why}`);
  }
  for (const [address, why] of TUNNELLED_PUBLIC) {
    assert.equal(isNonPublicAddress(address), false, `${address}: ${why}`);
    const url = `http://[${address}]/x`;
    assert.equal(await checkWebhookUrl(url, policy), new URL(url).href, `${address}: ${why}`);
  }
  // Allowed when the operator allows private receivers, as the other private addresses are.
  assert.equal(await checkWebhookUrl('http://[2002:a9fe:a9fe::]/x', { ...policy, allowPrivate: true }), 'http://[2002:a9fe:a9fe::]/x');
});

test('a name that resolves to a 6to4 or Teredo address of a private one is refused when saved and not connected to at delivery', async () => {
  const resolvesTo: Record<string, string[]> = { 'six.example': ['2002:a9fe:a9fe::'], 'teredo.example': ['2001:0:4136:e378:8000:63bf:5601:5601'], 'public6.example': ['2002:5db8:d822::'] };
  const names = { ...policy, resolve: async (name: string) => resolvesTo[name] ?? [] };
  for (const name of ['six.example', 'teredo.example']) {
    await assert.rejects(checkWebhookUrl(`https://${name}/hook`, names), /resolves to a loopback or private address/, name);
  }
  assert.equal(await checkWebhookUrl('https://public6.example/hook', names), 'https://public6.example/hook');

  // The delivery's lookup (publicOnlyLookup), with node:dns answering from the table above.
  mock.method(dns, 'lookup', (name: string, _options: object, callback: (err: Error | null, addresses: LookupAddress[]) => void) =>
    callback(null, (resolvesTo[name] ?? []).map((address) => ({ address, family: 6 }))),
  );
  syncBuiltinESMExports();
  try {
    const lookup = (name: string) =>
      new Promise<{ err: Error | null; address: unknown }>((resolve) => publicOnlyLookup(name, {}, (err, address) => resolve({ err, address })));
    for (const name of ['six.example', 'teredo.example']) {
      const { err } = await lookup(name);
      assert.ok(err instanceof NonPublicTarget, name);
    }
    assert.deepEqual(await lookup('public6.example'), { err: null, address: '2002:5db8:d822::' });
  } finally {
    mock.restoreAll();
    syncBuiltinESMExports();
  }
});

const refusedAsThisService = (what: string, secret?: string) => (err: Error & { code?: string }) => {
  assert.equal(err.code, 'invalid_url', what);
  assert.match(err.message, /must not point at this service/, what);
  if (secret !== undefined) assert.ok(!err.message.includes(secret), `${what}: ${err.message}`);
  return true;
};

test('the public host is refused on any port, also when PUBLIC_BASE_URL has a port', async () => {
  // What the URL service passed before: URL.host, with the port (curt serve's http://localhost:18731).
  for (const own of [new URL('https://short.example:8443').host, new URL('https://short.example:8443').hostname]) {
    const withPort = { ...policy, ownHosts: [own], allowPrivate: true };
    for (const url of ['https://short.example:8443/hook', 'http://short.example/hook', 'https://SHORT.example.:9000/x']) {
      await assert.rejects(checkWebhookUrl(url, withPort), refusedAsThisService(`${own}: ${url}`));
    }
  }
});

// The service listens on port 18731 on 10.0.3.7 and fd00::7 (and loopback); self.example and
// pod.example resolve to it, vm.example to another host of the network.
const LISTEN_PORT = 18731;
const resolvesToSelf: Record<string, string[]> = { 'self.example': ['127.0.0.1'], 'pod.example': ['203.0.113.9', '10.0.3.7'], 'vm.example': ['10.0.3.8'] };
const THIS_MACHINE: [host: string, resolvedTo?: string][] = [
  ['localhost'], ['api.localhost'], ['LOCALHOST.'], ['127.0.0.1'], ['127.1.2.3'], ['[::1]'], ['0.0.0.0'], ['[::]'], ['[::ffff:127.0.0.1]'],
  ['10.0.3.7'], ['[fd00::7]'], ['self.example', '127.0.0.1'], ['pod.example', '10.0.3.7'],
];

test('on the port this service listens on, this machine is this service, refused even with WEBHOOK_ALLOW_PRIVATE; on another port it is a receiver', async () => {
  const resolved: string[] = [];
  const onThisMachine = {
    ownHosts: ['short.example'],
    allowPrivate: true,
    listenPort: () => LISTEN_PORT,
    ownAddresses: () => ['10.0.3.7', 'fd00::7'],
    resolve: async (name: string) => (resolved.push(name), resolvesToSelf[name] ?? []),
  };
  for (const [host, resolvedTo] of THIS_MACHINE) {
    const url = `http://${host}:${LISTEN_PORT}/urls`;
    await assert.rejects(checkWebhookUrl(url, onThisMachine), (err: Error & { code?: string }) => {
      refusedAsThisService(url, resolvedTo)(err);
      // The host (as the parser spells it) and the port, so the key holder sees which URL was refused.
      assert.ok(err.message.includes(`${new URL(url).hostname.replace(/\.$/, '')}:${LISTEN_PORT}`), err.message);
      return true;
    });
    // Without the switch it is refused too (as this service, or as not public).
    await assert.rejects(checkWebhookUrl(url, { ...onThisMachine, allowPrivate: false }), { code: 'invalid_url' });
  }
  // Another host of the network on the service's port is not this service.
  assert.equal(await checkWebhookUrl(`http://vm.example:${LISTEN_PORT}/hook`, onThisMachine), `http://vm.example:${LISTEN_PORT}/hook`);
  assert.equal(await checkWebhookUrl(`http://10.0.3.8:${LISTEN_PORT}/hook`, onThisMachine), `http://10.0.3.8:${LISTEN_PORT}/hook`);

  // A receiver beside it, on another port: allowed with the switch (and no name is resolved for it),
  // refused as not public without.
  resolved.length = 0;
  for (const [host] of THIS_MACHINE) {
    const url = `http://${host}:9000/hook`;
    assert.equal(await checkWebhookUrl(url, onThisMachine), new URL(url).href, url);
    if (host !== 'self.example' && host !== 'pod.example') {
      await assert.rejects(checkWebhookUrl(url, { ...onThisMachine, allowPrivate: false }), /must be on a public address/, url);
    }
  }
  assert.deepEqual(resolved, []);
});

test("a URL without a port is on its scheme's: 80 for http, 443 for https", async () => {
  const on80 = { ownHosts: [], allowPrivate: true, listenPort: () => 80 };
  await assert.rejects(checkWebhookUrl('http://127.0.0.1/urls', on80), refusedAsThisService('http on 80'));
  await assert.rejects(checkWebhookUrl('http://localhost:80/urls', on80), refusedAsThisService('http on :80'));
  assert.equal(await checkWebhookUrl('https://127.0.0.1/urls', on80), 'https://127.0.0.1/urls');
  const on443 = { ...on80, listenPort: () => 443 };
  await assert.rejects(checkWebhookUrl('https://[::1]/urls', on443), refusedAsThisService('https on 443'));
  assert.equal(await checkWebhookUrl('http://[::1]/urls', on443), 'http://[::1]/urls');
});

test('local-use NAT64 (64:ff9b:1::/48), site-local (fec0::/10) and discard-only (100::/64) addresses are not public', async () => {
  for (const address of ['64:ff9b:1::a00:1', '64:ff9b:1:ffff::5db8:d70e', 'fec0::1', 'feff:ffff::1', '100::1', '100::ffff:ffff:ffff:ffff']) {
    assert.equal(isNonPublicAddress(address), true, address);
    await assert.rejects(checkWebhookUrl(`http://[${address}]/x`, policy), /must be on a public address/, address);
  }
});

test('with the default public host, localhost, a receiver on this machine on another port is allowed; on the listening port it is refused', async () => {
  const byDefault = { ownHosts: [new URL(`http://localhost:${LISTEN_PORT}`).hostname], allowPrivate: true, listenPort: () => LISTEN_PORT, ownAddresses: () => [] };
  assert.equal(await checkWebhookUrl('http://localhost:9000/hook', byDefault), 'http://localhost:9000/hook');
  await assert.rejects(checkWebhookUrl(`http://localhost:${LISTEN_PORT}/urls`, byDefault), refusedAsThisService('localhost on the listening port'));
  // A public host that is not this machine's stays refused on any port.
  await assert.rejects(checkWebhookUrl('http://sho.rt:9000/hook', { ...byDefault, ownHosts: ['sho.rt'] }), refusedAsThisService('sho.rt on another port'));
});
