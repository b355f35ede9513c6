// GET /urls/{short_code}/qr: the image must decode back to the short URL, and obey the read rules.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { longestTimerGap } from '../support/event-loop.ts';
import { buildTestUrlService, PUBLIC_BASE_URL, type TestUrlService } from '../support/url-service.ts';

// jsqr is CommonJS typed as an ES default export: at run time the import is the function itself.
const jsQR = jsQRModule as unknown as (typeof jsQRModule)['default'];

describe('QR codes of links', () => {
  let svc: TestUrlService;
  let user: { authorization: string };
  let code: string;

  before(async () => {
    svc = await buildTestUrlService('qr');
    user = await svc.userKey('qr owner');
    const res = await svc.app.inject({ method: 'POST', url: '/urls', headers: user, payload: { url: 'https://example.com/qr' } });
    code = res.json<{ short_code: string }>().short_code;
  });
  after(() => svc.close());

  test('the PNG decodes to the short URL, at the width asked for', async () => {
    const res = await svc.app.inject({ url: `/urls/${code}/qr?format=png&size=300`, headers: user });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/png');
    const png = PNG.sync.read(res.rawPayload);
    assert.equal(png.width, 300);
    const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    assert.equal(decoded?.data, `${PUBLIC_BASE_URL}/${code}`);
  });

  test('four 2048-pixel PNGs at once decode to the short URL and leave the event loop free (no 300 ms gap)', async () => {
    // The service runs in this process: a timer here waits as its redirects would. qrcode's own PNG
    // writer held the thread 2.3-2.5 s for these four (a scratch run), its own code here 19-26 ms.
    const { result: answers, longestMs: longest } = await longestTimerGap(2, () =>
      Promise.all(Array.from({ length: 4 }, () => svc.app.inject({ url: `/urls/${code}/qr?format=png&size=2048`, headers: user }))),
    );
    for (const res of answers) {
      assert.equal(res.statusCode, 200);
      const png = PNG.sync.read(res.rawPayload);
      assert.deepEqual([png.width, png.height], [2048, 2048]);
      assert.equal(jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data, `${PUBLIC_BASE_URL}/${code}`);
    }
    assert.ok(longest < 300, `the longest wait of a 2 ms timer: ${longest.toFixed(0)} ms`);
  });

  test('SVG is the default, with a restrictive Content-Security-Policy', async () => {
    const res = await svc.app.inject({ url: `/urls/${code}/qr`, headers: user });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/svg+xml');
    assert.match(res.body, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
  });

  test("someone else's link is 404 and no key is 401, as for its metadata", async () => {
    const stranger = await svc.userKey('stranger');
    const other = await svc.app.inject({ url: `/urls/${code}/qr`, headers: stranger });
    assert.equal(other.statusCode, 404);
    assert.equal(other.json<{ code: string }>().code, 'link_not_found');
    const none = await svc.app.inject({ url: `/urls/${code}/qr` });
    assert.equal(none.statusCode, 401);
  });

  test('an unknown format or size is a 400 problem, a size outside 64..2048 too (not clamped)', async () => {
    for (const query of ['format=gif', 'size=abc', 'size=1', 'format=png&size=10', 'format=png&size=63', 'format=png&size=2049', 'format=png&size=9999', 'size=10']) {
      const res = await svc.app.inject({ url: `/urls/${code}/qr?${query}`, headers: user });
      assert.equal(res.statusCode, 400, query);
      assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    }
    assert.match((await svc.app.inject({ url: `/urls/${code}/qr?format=png&size=10`, headers: user })).json<{ detail: string }>().detail, /size must be from 64 to 2048 pixels \(got 10\)/);
    const smallest = await svc.app.inject({ url: `/urls/${code}/qr?format=png&size=64`, headers: user });
    assert.equal(smallest.statusCode, 200);
    assert.equal(smallest.rawPayload.readUInt32BE(16), 64, 'the PNG is 64 pixels wide');
  });
});
