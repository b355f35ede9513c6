// Issue 13: the web app as the URL service serves it: its page at every path the app uses, its hashed
// files with a year's cache, a strict CSP, and no path of it able to shadow a short code.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { RESERVED_WORDS } from '../../src/core/reserved.ts';
import { STATS_PATH_PATTERN, WEB_APP_CSP } from '../../src/url/routes/web-app.ts';
import { buildWebAppIfStale, loadWebAssets } from '../../src/url/web-assets.ts';
import { parseRoute, ROUTE_PATHS } from '../../src/web/routes.ts';
import { captureLogger } from '../support/log.ts';
import { buildTestUrlService, PUBLIC_BASE_URL, type TestUrlService } from '../support/url-service.ts';

/** A built app of two files, as scripts/build-web.mjs lays one out. */
function fakeBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), 'curt-web-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Curt</title><script type="module" src="/assets/index-abc123.js"></script>');
  writeFileSync(join(dir, 'assets', 'index-abc123.js'), `console.log(${JSON.stringify('x'.repeat(2000))});`);
  writeFileSync(join(dir, 'assets', 'icon-abc123.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  return dir;
}

describe('the web app as served', () => {
  let svc: TestUrlService;
  let dir: string;
  before(async () => {
    dir = fakeBuild();
    svc = await buildTestUrlService('web_app', { webAssets: loadWebAssets(dir) });
  });
  after(async () => {
    await svc.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('/ is the app page with the strict CSP, the HTML security headers, no-cache and an ETag that answers 304', async () => {
    const res = await svc.app.inject({ url: '/' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(res.body, /<title>Curt<\/title>/);
    assert.equal(res.headers['content-security-policy'], WEB_APP_CSP);
    for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]) {
      assert.ok(WEB_APP_CSP.includes(directive), directive);
    }
    assert.doesNotMatch(WEB_APP_CSP, /unsafe-inline|unsafe-eval|https:/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['referrer-policy'], 'no-referrer');
    assert.equal(res.headers['cache-control'], 'no-cache');
    const etag = String(res.headers.etag);
    const again = await svc.app.inject({ url: '/', headers: { 'if-none-match': etag } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
  });

  test('every page of the app is served the same page: /app, /app/links, /app/keys, /app/webhooks, /app/stats/{code}, /{code}+', async () => {
    for (const path of ['/app', '/app/links', '/app/keys', '/app/webhooks', '/app/stats/abcDEF', '/abcDEF+', '/abc%2B', '/app/anything/else']) {
      const res = await svc.app.inject({ url: path });
      assert.equal(res.statusCode, 200, path);
      assert.match(res.body, /<title>Curt<\/title>/, path);
      assert.equal(res.headers['content-security-policy'], WEB_APP_CSP, path);
    }
  });

  test('hashed files under /assets/ are cached for a year as immutable, gzipped when asked and worth it; an unknown one is a 404 problem', async () => {
    const plain = await svc.app.inject({ url: '/assets/index-abc123.js' });
    assert.equal(plain.statusCode, 200);
    assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.match(String(plain.headers['content-type']), /^text\/javascript/);
    assert.equal(plain.headers['content-encoding'], undefined);
    const gz = await svc.app.inject({ url: '/assets/index-abc123.js', headers: { 'accept-encoding': 'gzip, br' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gz.headers.vary, 'accept-encoding');
    assert.equal(gunzipSync(gz.rawPayload).toString(), plain.body);
    const png = await svc.app.inject({ url: '/assets/icon-abc123.png', headers: { 'accept-encoding': 'gzip' } });
    assert.equal(png.headers['content-encoding'], undefined, 'four bytes do not shrink: sent as they are');
    assert.equal(png.headers['content-type'], 'image/png');
    const missing = await svc.app.inject({ url: '/assets/nope-000.js' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json<{ code: string }>().code, 'not_found');
  });

  test('the app routes leave the redirect alone: /{code} still redirects, /{code}+ is the stats page', async () => {
    const created = await svc.app.inject({ method: 'POST', url: '/urls', payload: { url: 'https://example.com/web' } });
    const code = created.json<{ short_code: string }>().short_code;
    const redirect = await svc.app.inject({ url: `/${code}` });
    assert.equal(redirect.statusCode, 302);
    assert.equal(redirect.headers.location, 'https://example.com/web');
    const stats = await svc.app.inject({ url: `/${code}+` });
    assert.equal(stats.statusCode, 200);
    assert.match(stats.body, /<title>Curt/);
    // `+` inside a code is no stats page: it is a code that does not exist.
    assert.equal((await svc.app.inject({ url: `/a+${code}` })).statusCode, 404);
  });

  test('GET /api/config tells the app whether anonymous creation is on, and is in the OpenAPI document', async () => {
    const res = await svc.app.inject({ url: '/api/config' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { version: '0.1.0', public_base_url: PUBLIC_BASE_URL, allow_anonymous: true });
    const doc = (await svc.app.inject({ url: '/docs/json' })).json<{ paths: Record<string, unknown> }>();
    assert.ok(doc.paths['/api/config']);
  });

  test('every top-level path segment the URL service routes is a reserved word; the only parameters are the code and {code}+', async () => {
    const tree = svc.app.printRoutes({ commonPrefix: false });
    const top = [...tree.matchAll(/^ {4}[├└]── (\S+) \(/gmu)].map((m) => m[1] ?? '');
    assert.ok(top.length > 8, tree);
    const params = top.filter((segment) => segment.startsWith(':'));
    assert.deepEqual(params.sort(), [`:short_code`, `:stats_code(${STATS_PATH_PATTERN})`].sort());
    for (const segment of top.filter((s) => !s.startsWith(':'))) {
      const word = segment.split('/')[0] ?? '';
      assert.ok(RESERVED_WORDS.has(word), `"${word}" (${segment}) must be reserved`);
    }
  });
});

test('every path the app itself uses starts with a reserved word, or is /{code}+', () => {
  for (const path of ROUTE_PATHS) {
    const first = path.split('/')[1] ?? '';
    assert.ok(first === '' || first === '{code}+' || RESERVED_WORDS.has(first), path);
  }
  assert.deepEqual(parseRoute('/'), { page: 'home' });
  assert.deepEqual(parseRoute('/app'), { page: 'links' });
  assert.deepEqual(parseRoute('/app/keys'), { page: 'keys' });
  assert.deepEqual(parseRoute('/app/webhooks'), { page: 'webhooks' });
  assert.deepEqual(parseRoute('/abc_-9+'), { page: 'stats', code: 'abc_-9' });
  assert.deepEqual(parseRoute('/app/stats/abc'), { page: 'stats', code: 'abc' });
  assert.equal(parseRoute('/a.b+').page, 'not-found');
  assert.equal(parseRoute('/%E0%A4%A').page, 'not-found');
});

test('without a build, / says the app is not built (503) and the API still works', async (t) => {
  const svc = await buildTestUrlService('web_app_unbuilt', { webAssets: null });
  t.after(() => svc.close());
  const page = await svc.app.inject({ url: '/' });
  assert.equal(page.statusCode, 503);
  assert.match(page.body, /npm run build/);
  assert.equal((await svc.app.inject({ url: '/assets/index-abc123.js' })).statusCode, 404);
  assert.equal((await svc.app.inject({ url: '/api/config' })).statusCode, 200);
  assert.equal(loadWebAssets(join(tmpdir(), 'no-such-build-dir')), null);
});

test('compiled code never builds the web app; from the sources a current build is left as it is', async () => {
  const marker = fileURLToPath(new URL('../../dist/web/build-info.json', import.meta.url));
  const builtAt = statSync(marker).mtimeMs;
  const captured = captureLogger('web');
  // A compiled module (dist/url/web-assets.js) returns at once, whatever the state of dist/web.
  await buildWebAppIfStale(captured.log, 'file:///nowhere/dist/url/web-assets.js');
  // From the sources: scripts/test.mjs built dist/web before the suite, so nothing is rebuilt.
  await buildWebAppIfStale(captured.log);
  assert.equal(statSync(marker).mtimeMs, builtAt, 'a current build is not built again');
  assert.equal(captured.text(), '', 'neither call logged anything');
  // A script that cannot be loaded is logged, not thrown: the service starts without the app.
  await buildWebAppIfStale(captured.log, 'file:///nowhere/src/url/web-assets.ts');
  assert.match(captured.text(), /could not build the web app/);
});
