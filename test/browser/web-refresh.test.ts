// What a page shows when it loads again, in Chromium against real processes (a KGS and a URL service on
// PostgreSQL and Redis). The stats page: a reload that fails (the server unreachable, a 429) keeps the
// figures and the controls and says why beside them, so that Refresh or a range tries again; a first
// load that fails offers Retry; the focus is never left on <body>. A webhook endpoint's row follows
// its deliveries: refreshing them reads the endpoint again (its failures in a row). Screenshots of the
// stats page's two failures go to test-artifacts/screenshots/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page, Route } from 'playwright-core';
import { createCurtClient, type CurtClient } from '../../src/client/curt-client.ts';
import { newContext, openWatchedPage, screenshot, SKIP_BROWSER_TESTS, waitForFocus, watchPage } from '../support/browser.ts';
import { startBrowserStack, type BrowserStack } from '../support/browser-stack.ts';
import { until } from '../support/fault-probes.ts';
import { E2E_ADMIN_KEY, type ServiceProcess } from '../support/processes.ts';

/** What has the focus, as `tag text` (`body` when nothing does). Page-side code is text: no DOM types here. */
const FOCUSED = `(() => {
  const e = document.activeElement;
  if (e === null || e === document.body) return 'body';
  const text = e.tagName === 'INPUT' ? e.type + '=' + e.value : (e.getAttribute('aria-label') ?? e.textContent ?? '');
  return e.tagName.toLowerCase() + ' ' + text.trim().replace(/\\s+/g, ' ').slice(0, 80);
})()`;

/** Curt's own 429, as its rate limit answers. */
const fulfillRateLimited = (route: Route) =>
  route.fulfill({
    status: 429,
    contentType: 'application/problem+json',
    headers: { 'retry-after': '30' },
    body: JSON.stringify({ type: 'about:blank', title: 'Too many requests', status: 429, code: 'rate_limited', detail: 'Rate limit reached; retry in 30 s.' }),
  });

describe('what a page shows when it loads again, in Chromium', { skip: SKIP_BROWSER_TESTS ? 'CURT_SKIP_BROWSER_TESTS=1' : false }, () => {
  let stack: BrowserStack;
  let service: ServiceProcess;
  let browser: Browser;
  let admin: CurtClient;

  before(async () => {
    stack = await startBrowserStack('browser_refresh');
    browser = stack.browser;
    // The webhook test's endpoint is on 127.0.0.1 where nothing listens: its deliveries fail.
    service = await stack.urlService({ WEBHOOK_ALLOW_PRIVATE: 'true' });
    admin = createCurtClient({ baseUrl: service.url, apiKey: E2E_ADMIN_KEY });
  });

  after(async () => stack?.close());

  const openPage = (path: string) => openWatchedPage(browser, `${service.url}${path}`, { apiKey: E2E_ADMIN_KEY });
  const focusOn = (page: Page, expected: RegExp, what: string) => waitForFocus(page, FOCUSED, expected, what);
  const analyticsOf = (code: string) => `${service.url}/urls/${code}/analytics*`;

  test('stats: a reload that fails keeps the figures and the controls, says why beside them, and Refresh or a range tries again', async () => {
    const link = await admin.shorten('https://example.com/refresh/stats');
    const code = link.short_code;
    const { page, problems } = await openPage(`/${code}+`);
    const summary = page.getByTestId('summary');
    await summary.waitFor();
    const figures = await summary.textContent();
    const caption = page.getByTestId('daily-table').locator('caption');
    assert.match((await caption.textContent()) ?? '', /in the last 30 days/);

    // The server gone: a range chosen fails.
    await page.route(analyticsOf(code), (route) => route.abort('connectionrefused'));
    await page.getByText('7 days', { exact: true }).click();
    const alert = page.getByRole('alert');
    await alert.getByText('The server could not be reached', { exact: false }).waitFor();
    assert.equal(await summary.count(), 1, 'the figures are still shown');
    assert.equal(await summary.textContent(), figures);
    assert.match((await caption.textContent()) ?? '', /in the last 30 days/, 'they are the figures loaded before, and say so');
    assert.equal(await page.getByRole('button', { name: 'Refresh' }).count(), 1);
    assert.equal(await page.getByRole('radio').count(), 4);
    assert.equal(await page.getByRole('link', { name: 'Shorten a link' }).count(), 0);
    assert.equal((await page.getByTestId('stats-error').textContent()) ?? '', 'Not updated: The server could not be reached. Check your connection and try again. The figures shown are those loaded before.');
    await focusOn(page, /^input radio=7$/, 'the 7 days button, where it was');
    await screenshot(page, 'stats-reload-failed');

    // A 429 on Refresh: said in its place, the focus on Refresh.
    await page.unroute(analyticsOf(code));
    await page.route(analyticsOf(code), fulfillRateLimited);
    const refresh = page.getByRole('button', { name: 'Refresh' });
    await refresh.click();
    await alert.getByText('Too many requests for now.', { exact: false }).waitFor();
    assert.equal(await summary.textContent(), figures);
    await focusOn(page, /^button Refresh$/, 'Refresh');

    // The server back: Refresh shows the range chosen, and the message goes.
    await page.unroute(analyticsOf(code));
    await refresh.click();
    await until(async () => /in the last 7 days/.test((await caption.textContent()) ?? ''), 5000, 'the 7 days');
    assert.equal(await page.getByTestId('stats-error').count(), 0);
    await until(async () => (await page.getByTestId('live').textContent()) === 'Stats refreshed.', 5000, 'the live region to say so');
    await focusOn(page, /^button Refresh$/, 'Refresh');
    assert.deepEqual(await problems(), []);
  });

  test('stats: a first load that fails offers Retry, which keeps the focus while it fails and gives it to the heading once the stats come', async () => {
    const link = await admin.shorten('https://example.com/refresh/first-load');
    const code = link.short_code;
    let refused = 0;
    // Refused from the first request on: the route is set before the page loads.
    const page = await (await newContext(browser, { apiKey: E2E_ADMIN_KEY })).newPage();
    const problems = await watchPage(page);
    await page.route(analyticsOf(code), (route) => {
      refused++;
      return fulfillRateLimited(route);
    });
    await page.goto(`${service.url}/${code}+`);
    await page.getByRole('alert').getByText('Too many requests for now.', { exact: false }).waitFor();
    assert.equal(await page.getByRole('heading', { name: `Stats of ${code}`, level: 1 }).count(), 1);
    const retry = page.getByRole('button', { name: 'Retry' });
    await retry.click();
    await until(async () => refused === 2 && (await retry.count()) === 1 && (await retry.getAttribute('aria-disabled')) === null, 5000, 'the second refusal');
    await page.getByRole('alert').getByText('Too many requests for now.', { exact: false }).waitFor();
    await focusOn(page, /^button Retry$/, 'Retry, after a second failure');
    await screenshot(page, 'stats-first-load-failed');

    await page.unroute(analyticsOf(code));
    await retry.click();
    await page.getByTestId('summary').waitFor();
    await focusOn(page, new RegExp(`^h1 Stats of ${code}$`), 'the page heading, Retry gone');
    assert.deepEqual(await problems(), []);
  });

  test("webhooks: refreshing an endpoint's deliveries refreshes its row (failures in a row)", async () => {
    const hook = await admin.createWebhook(`http://127.0.0.1:9/refresh-${Date.now().toString(36)}`, ['link.created'], { description: 'refresh row' });
    const { page, problems } = await openPage('/app/webhooks');
    const row = page.locator(`tr[data-webhook-id="${hook.id}"]`);
    const failures = row.locator('td.num');
    await row.waitFor();
    assert.match((await failures.textContent()) ?? '', /^0/);
    await row.getByRole('button', { name: 'Deliveries' }).click();
    const log = page.getByTestId('webhook-deliveries');
    await log.getByText('No events for this endpoint yet', { exact: false }).waitFor();

    // A link made: its link.created fails to reach 127.0.0.1:9.
    await admin.shorten('https://example.com/refresh/webhook');
    await until(async () => (await admin.getWebhook(hook.id)).consecutive_failures >= 1, 15_000, 'a failed delivery');
    assert.match((await failures.textContent()) ?? '', /^0/, 'nothing read the endpoint since');
    await log.getByRole('button', { name: 'Refresh' }).click();
    await log.getByRole('row', { name: /^link\.created / }).waitFor();
    let shown = '';
    await until(async () => /^[1-9]/.test((shown = (await failures.textContent()) ?? '')), 5000, () => `the row's failures in a row (it says ${shown})`);
    assert.match(shown, /since/, 'and since when');
    assert.ok(Number.parseInt(shown, 10) <= (await admin.getWebhook(hook.id)).consecutive_failures);
    assert.deepEqual(await problems(), []);
  });
});
