// The SDK's analytics call: the range and the breakdown length go in the query string, encoded, and
// only when given. A fake fetch records what the SDK asks; no server needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCurtClient } from '../../src/client/curt-client.ts';

function recordingClient(): { asked: string[]; client: ReturnType<typeof createCurtClient> } {
  const asked: string[] = [];
  const fakeFetch: typeof fetch = async (input) => {
    asked.push(input instanceof Request ? input.url : String(input));
    return new Response('{"short_code":"abc"}', { status: 200, headers: { 'content-type': 'application/json' } });
  };
  return { asked, client: createCurtClient({ baseUrl: 'http://cu.rt:8080/', fetch: fakeFetch }) };
}

test('analytics asks for the range and top N it is given, and nothing else', async () => {
  const { asked, client } = recordingClient();
  await client.analytics('abc');
  await client.analytics('abc', { from: '2026-01-01', to: '2026-03-31', top: 5 });
  await client.analytics('abc', { to: '2026-03-31' });
  await client.analytics('abc', {});
  assert.deepEqual(asked, [
    'http://cu.rt:8080/urls/abc/analytics',
    'http://cu.rt:8080/urls/abc/analytics?from=2026-01-01&to=2026-03-31&top=5',
    'http://cu.rt:8080/urls/abc/analytics?to=2026-03-31',
    'http://cu.rt:8080/urls/abc/analytics',
  ]);
});

test('analytics encodes the code and the values: a stray & or # cannot add a parameter', async () => {
  const { asked, client } = recordingClient();
  await client.analytics('a/b?c', { from: '2026-01-01&top=100', to: '2026-01-02#x' });
  assert.deepEqual(asked, ['http://cu.rt:8080/urls/a%2Fb%3Fc/analytics?from=2026-01-01%26top%3D100&to=2026-01-02%23x']);
  assert.deepEqual([...new URL(asked[0] ?? '').searchParams.keys()], ['from', 'to']);
});
