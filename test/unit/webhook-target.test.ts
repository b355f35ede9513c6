// What webhook endpoints' owners are told (README, "Errors": no address, no socket error): a refused
// endpoint URL names the host, not what it resolved to; the delivery log says a failure in stable
// words and at most an error code, never the socket's message with its addresses and ports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkWebhookUrl, deliveryFailure, NonPublicTarget } from '../../src/url/webhook-target.ts';

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
