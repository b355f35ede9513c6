// Issue 10, defect 1: a link whose target is this service, in any spelling, redirects to itself (or to
// another short link pointing back) forever and counts a click per hop. Creation refuses it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';

let svc: TestUrlService;
before(async () => {
  svc = await buildTestUrlService('redirect-loops');
});
after(async () => {
  await svc.close();
});

async function create(url: string): Promise<{ status: number; code: string; detail: string; shortCode?: string }> {
  const res = await svc.app.inject({ method: 'POST', url: '/urls', headers: svc.admin, payload: { url } });
  const body = res.json<{ code?: string; detail?: string; short_code?: string }>();
  return { status: res.statusCode, code: body.code ?? '', detail: body.detail ?? '', ...(body.short_code ? { shortCode: body.short_code } : {}) };
}

test('a target on loopback, localhost or an address the service listens on is refused, in every spelling, naming why', async () => {
  const first = await create('https://example.com/landing');
  assert.equal(first.status, 201);
  const code = first.shortCode ?? '';
  const external = Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .filter((entry) => !entry.internal && entry.family === 'IPv4')
    .map((entry) => `http://${entry.address}:8080/${code}`);
  for (const url of [
    `http://127.0.0.1:8080/${code}`,
    `http://[::1]:8080/${code}`,
    `http://localhost.:8080/${code}`,
    `http://LOCALHOST:8080/${code}`,
    `http://[::ffff:127.0.0.1]:8080/${code}`,
    `http://2130706433:8080/${code}`,
    `http://0x7f.0.0.1:8080/${code}`,
    `http://SHO.RT:80/${code}`,
    `http://sho.rt./${code}`,
    ...external,
  ]) {
    const res = await create(url);
    assert.equal(res.status, 400, `${url} was accepted (${res.status})`);
    assert.equal(res.code, 'invalid_url');
    assert.match(res.detail, /must not point at this shortener/, url);
  }
});

test('two links cannot point at each other through another spelling of the service', async () => {
  const a = await create('https://example.com/a');
  assert.equal(a.status, 201);
  // B → A through 127.0.0.1 would loop with A → B; B is refused, so no chain exists.
  const b = await create(`http://127.0.0.1:8080/${a.shortCode ?? ''}`);
  assert.equal(b.status, 400);
  const redirect = await svc.app.inject({ method: 'GET', url: `/${a.shortCode ?? ''}` });
  assert.equal(redirect.headers.location, 'https://example.com/a');
});

test('a target whose name does not resolve yet is accepted', async () => {
  const res = await create('https://not-registered-yet.invalid/launch');
  assert.equal(res.status, 201);
});
