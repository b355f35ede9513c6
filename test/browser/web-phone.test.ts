// Long values that cannot break at a space, on a 375 px phone, in Chromium against real processes (a
// KGS and a URL service on PostgreSQL and Redis): a 28-character tag, an address with a long path, a
// webhook endpoint's URL, an API key's name without spaces. No page is wider than the phone, and a
// confirmation dialog naming such a value shows the whole of it in its title, is no wider than the
// phone, and keeps its Close button on screen. Screenshots go to test-artifacts/screenshots/ (phone-375-…).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { createCurtClient, type CurtClient } from '../../src/client/curt-client.ts';
import { newContext, screenshot, SKIP_BROWSER_TESTS, watchPage } from '../support/browser.ts';
import { startBrowserStack, type BrowserStack } from '../support/browser-stack.ts';
import { E2E_ADMIN_KEY, type ServiceProcess } from '../support/processes.ts';

/** The narrowest common phone. */
const WIDTH = 375;
const TAG = 'q4_enterprise_webinar_series';
const LONG_URL = `https://example.com/campaigns/${'spring-collection-2026-landing-page-'.repeat(3)}final`;
/** The shape of a Slack webhook's URL, on this machine (the endpoint gets no event: link.deleted only). */
const HOOK_URL = 'http://127.0.0.1:9/services/T0123ABCD/B0456EFGH/abcdefghijklmnopqrstuvwx';
/** No space and no hyphen: nowhere a line may break. */
const KEY_NAME = 'marketing_automation_production_eu_west_1_primary';

/** The open dialog's sizes, and its title's and Close button's places (page-side code is text: no DOM types here). */
const DIALOG_BOXES = `(() => {
  const dialog = document.querySelector('dialog[open]');
  const title = dialog.querySelector('.dialog-head h2');
  const box = (e) => { const r = e.getBoundingClientRect(); return { left: r.left, right: r.right }; };
  return {
    scrollWidth: dialog.scrollWidth,
    clientWidth: dialog.clientWidth,
    dialog: box(dialog),
    title: box(title),
    titleScrollWidth: title.scrollWidth,
    titleClientWidth: title.clientWidth,
    close: box(dialog.querySelector('.dialog-head button')),
  };
})()`;

interface DialogBoxes {
  scrollWidth: number;
  clientWidth: number;
  dialog: { left: number; right: number };
  title: { left: number; right: number };
  titleScrollWidth: number;
  titleClientWidth: number;
  close: { left: number; right: number };
}

describe('long values on a 375 px phone, in Chromium', { skip: SKIP_BROWSER_TESTS ? 'CURT_SKIP_BROWSER_TESTS=1' : false }, () => {
  let stack: BrowserStack;
  let service: ServiceProcess;
  let browser: Browser;
  let admin: CurtClient;

  before(async () => {
    stack = await startBrowserStack('browser_phone');
    browser = stack.browser;
    // The endpoint's URL is on 127.0.0.1: allowed, as a receiver on this machine would be.
    service = await stack.urlService({ WEBHOOK_ALLOW_PRIVATE: 'true' });
    admin = createCurtClient({ baseUrl: service.url, apiKey: E2E_ADMIN_KEY });
  });

  after(async () => stack?.close());

  /** A page at `path` on an emulated 375 px phone, with its CSP violations and script errors. */
  async function openPhonePage(path: string, apiKey?: string): Promise<{ page: Page; problems: () => Promise<string[]> }> {
    const context = await newContext(browser, { viewport: { width: WIDTH, height: 740 }, isMobile: true, hasTouch: true, ...(apiKey === undefined ? {} : { apiKey }) });
    const page = await context.newPage();
    const problems = await watchPage(page);
    await page.goto(`${service.url}${path}`);
    return { page, problems };
  }

  /**
   * Fails when the page is wider than the phone. Against WIDTH, not window.innerWidth: an emulated
   * phone widens its layout viewport to a page that overflows.
   */
  async function assertFits(page: Page, what: string): Promise<void> {
    const overflow = (await page.evaluate<number>('document.documentElement.scrollWidth')) - WIDTH;
    assert.ok(overflow <= 0, `${what} is ${overflow} px wider than a ${WIDTH} px phone`);
  }

  /** Fails unless the dialog named `title` (the whole of it) fits the phone, its title read whole and its Close button on screen. */
  async function assertDialogFits(page: Page, title: string, shot: string): Promise<void> {
    const dialog = page.getByRole('dialog', { name: title, exact: true });
    await dialog.waitFor();
    await screenshot(page, `phone-375-${shot}`);
    const boxes = await page.evaluate<DialogBoxes>(DIALOG_BOXES);
    const said = JSON.stringify(boxes);
    assert.ok(boxes.scrollWidth <= boxes.clientWidth, `the dialog "${title}" scrolls sideways: ${said}`);
    assert.ok(boxes.dialog.left >= 0 && boxes.dialog.right <= WIDTH, `the dialog "${title}" is off screen: ${said}`);
    assert.ok(boxes.titleScrollWidth <= boxes.titleClientWidth && boxes.title.right <= boxes.dialog.right, `the title of "${title}" is cut: ${said}`);
    assert.ok(boxes.close.left >= boxes.title.right && boxes.close.right <= boxes.dialog.right, `the Close button of "${title}" is off screen: ${said}`);
    await assertFits(page, `the page under the dialog "${title}"`);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  }

  test("the home page's result: a long tag and a long address break rather than widen the page", async () => {
    const { page, problems } = await openPhonePage('/');
    await page.getByLabel('Long URL').fill(LONG_URL);
    await page.getByLabel('Tags (optional)').fill(TAG);
    await page.getByRole('button', { name: 'Shorten', exact: true }).click();
    const result = page.getByTestId('result');
    await result.waitFor();
    await result.getByText(TAG, { exact: true }).waitFor();
    await screenshot(page, 'phone-375-home-result');
    await assertFits(page, 'the home page with its result');
    assert.deepEqual(await problems(), []);
  });

  test("My links, a link's stats and its dialogs with a long tag and a long address", async () => {
    const { key } = await admin.createApiKey({ name: 'phone-links' });
    const owner = createCurtClient({ baseUrl: service.url, apiKey: key });
    const link = await owner.shorten(LONG_URL, { tags: [TAG, 'launch_campaign_emea_2026_q1'] });
    const { page, problems } = await openPhonePage(`/app/links?tag=${TAG}`, key);
    const row = page.locator(`li[data-code="${link.short_code}"]`);
    await row.waitFor();
    await assertFits(page, 'My links filtered by the long tag');
    await row.getByRole('button', { name: 'Delete' }).click();
    await assertDialogFits(page, `Delete ${link.short_code}?`, 'delete-link');
    await row.getByRole('button', { name: 'Edit' }).click();
    await assertDialogFits(page, `Edit ${link.short_code}`, 'edit-link');

    await page.goto(`${service.url}/${link.short_code}+`);
    await page.getByTestId('summary').waitFor();
    await assertFits(page, "the link's stats");
    assert.deepEqual(await problems(), []);
  });

  test("webhooks: a long endpoint URL in the table, its deliveries, the Delete dialog and a new endpoint's notice", async () => {
    const hook = await admin.createWebhook(HOOK_URL, ['link.deleted']);
    const { page, problems } = await openPhonePage('/app/webhooks', E2E_ADMIN_KEY);
    const row = page.locator(`tr[data-webhook-id="${hook.id}"]`);
    await row.waitFor();
    await assertFits(page, 'the webhooks page');
    await row.getByRole('button', { name: 'Deliveries' }).click();
    await page.getByTestId('webhook-deliveries').getByText('No events for this endpoint yet', { exact: false }).waitFor();
    await assertFits(page, "the webhooks page with the endpoint's deliveries");
    await row.getByRole('button', { name: 'Delete' }).click();
    await assertDialogFits(page, `Delete the webhook to ${HOOK_URL}?`, 'delete-webhook');

    // Added on the page: the notice with its secret names the URL.
    await page.getByLabel('Endpoint URL').fill(`${HOOK_URL}yz`);
    await page.getByRole('checkbox', { name: /link\.created/ }).uncheck();
    await page.getByRole('checkbox', { name: /link\.deleted/ }).check();
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByTestId('new-webhook').waitFor();
    await screenshot(page, 'phone-375-webhooks');
    await assertFits(page, "the webhooks page with the new endpoint's secret");
    assert.deepEqual(await problems(), []);
  });

  test("API keys: a key's name without spaces in the table and in the Revoke dialog", async () => {
    await admin.createApiKey({ name: KEY_NAME });
    const { page, problems } = await openPhonePage('/app/keys', E2E_ADMIN_KEY);
    const revoke = page.getByRole('button', { name: `Revoke ${KEY_NAME}` });
    await revoke.waitFor();
    await screenshot(page, 'phone-375-keys');
    await assertFits(page, 'the API keys page');
    await revoke.click();
    await assertDialogFits(page, `Revoke ${KEY_NAME}?`, 'revoke-key');
    assert.deepEqual(await problems(), []);
  });
});
