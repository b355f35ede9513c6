// The password form of a protected link in Chromium: the 401 page with its form, a wrong password
// (the form again, with a message), the right one (the browser lands on the target), under the
// page's own Content-Security-Policy and without a single violation. The target is a small server on
// this machine that Chromium reaches as http://target.example (its host resolver is told so; Curt
// itself refuses loopback targets and never resolves names): it stands for any site the link leads to.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM, seriousA11yViolations, SKIP_BROWSER_TESTS, watchPage } from '../support/browser.ts';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';

describe('a password-protected link in Chromium', { skip: SKIP_BROWSER_TESTS ? 'CURT_SKIP_BROWSER_TESTS=1' : false }, () => {
  let svc: TestUrlService;
  let base: string;
  let browser: Browser;
  let target: Server;
  const arrivals: string[] = [];
  before(async () => {
    svc = await buildTestUrlService('pw_browser');
    base = await svc.app.listen({ port: 0, host: '127.0.0.1' });
    target = createServer((req, res) => {
      arrivals.push(`${req.method ?? ''} ${req.url ?? ''}`);
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Target</title><p>arrived</p>');
    });
    target.listen(0, '127.0.0.1');
    await once(target, 'listening');
    const port = (target.address() as AddressInfo).port;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', `--host-resolver-rules=MAP target.example 127.0.0.1:${port}`],
    });
  });
  after(async () => {
    await browser.close();
    target.close();
    await svc.close();
  });

  test('the form, a wrong password, then the right one lands on the target; no CSP violation', async () => {
    const res = await svc.app.inject({ method: 'POST', url: '/urls', headers: svc.admin, payload: { url: 'http://target.example/behind/the/door', password: 'open sesame 🔑' } });
    const code = res.json<{ short_code: string }>().short_code;
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = await watchPage(page);
    const first = await page.goto(`${base}/${code}`);
    assert.equal(first?.status(), 401);
    assert.equal(await page.getByRole('heading').textContent(), 'This link is protected by a password');

    await page.getByLabel('Password').fill('not the password');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Continue' }).click()]);
    assert.match((await page.getByRole('alert').textContent()) ?? '', /not the password/);
    assert.deepEqual(arrivals, []);

    await page.getByLabel('Password').fill('open sesame 🔑');
    await Promise.all([page.waitForURL('http://target.example/behind/the/door'), page.getByRole('button', { name: 'Continue' }).click()]);
    assert.equal(await page.locator('p').textContent(), 'arrived');
    assert.deepEqual(arrivals.filter((a) => a !== 'GET /favicon.ico'), ['GET /behind/the/door'], 'the target was fetched once, with a GET: the password is not posted on');
    assert.deepEqual(await problems(), []);
    await context.close();

    // axe is injected as a script, which the page's policy (rightly) refuses: checked apart, without it.
    const checking = await browser.newContext({ bypassCSP: true });
    const form = await checking.newPage();
    await form.goto(`${base}/${code}`);
    assert.deepEqual(await seriousA11yViolations(form), []);
    await checking.close();
  });
});
