// The web app's forms in Chromium, against real processes (a KGS and a URL service on PostgreSQL and
// Redis): tags checked before sending and said under their field (aria-invalid, aria-describedby,
// focus, cleared on edit); "Shorten another" is a fresh form; a client-side check's error takes the
// focus to its field (home and editor); the editor saved with no change closes and sends nothing; an
// answer that is not Curt's JSON (a proxy's 502 page) is said in words, not the SDK's.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Locator, Page } from 'playwright-core';
import { createCurtClient, type CurtClient } from '../../src/client/curt-client.ts';
import { openWatchedPage, SKIP_BROWSER_TESTS } from '../support/browser.ts';
import { startBrowserStack, type BrowserStack } from '../support/browser-stack.ts';
import { until } from '../support/fault-probes.ts';
import { E2E_ADMIN_KEY, type ServiceProcess } from '../support/processes.ts';

describe('the web app\'s forms in Chromium', { skip: SKIP_BROWSER_TESTS ? 'CURT_SKIP_BROWSER_TESTS=1' : false }, () => {
  let stack: BrowserStack;
  let service: ServiceProcess;
  let browser: Browser;
  let admin: CurtClient;

  before(async () => {
    stack = await startBrowserStack('browser_forms');
    browser = stack.browser;
    service = await stack.urlService();
    admin = createCurtClient({ baseUrl: service.url, apiKey: E2E_ADMIN_KEY });
  });

  after(async () => stack?.close());

  /** A page at `path` of the service (openWatchedPage). */
  const openPage = (path: string, options: { apiKey?: string } = {}) => openWatchedPage(browser, `${service.url}${path}`, options);

  /** The text of the error `field` points at (the first id of its aria-describedby). */
  async function errorOf(page: Page, field: Locator): Promise<string> {
    const id = (await field.getAttribute('aria-describedby'))?.split(' ')[0] ?? '';
    return (await page.locator(`#${id}`).textContent()) ?? '';
  }

  const focusedName = (page: Page) => page.evaluate<string>('document.activeElement.name ?? document.activeElement.tagName');

  test('tags: a bad tag and 21 tags are said under the Tags field, in words, before anything is sent; the field takes the focus; editing clears it', async () => {
    const { page, sent, problems } = await openPage('/');
    const shorten = page.getByRole('button', { name: 'Shorten', exact: true });
    const tags = page.getByLabel('Tags (optional)');
    await page.getByLabel('Long URL').fill('https://example.com/forms/tags');
    await tags.fill('good, b@d!');
    await shorten.click();
    await until(async () => (await tags.getAttribute('aria-invalid')) === 'true', 5000, 'the tags field to be marked invalid');
    assert.equal(await errorOf(page, tags), 'The tag "b@d!" has characters a tag cannot have: 1 to 32 of letters, digits and - _ . : /');
    assert.equal(await focusedName(page), 'tags', 'focus moves to the field');
    assert.match((await tags.getAttribute('aria-describedby')) ?? '', /-tags-hint$/, 'the hint is still read');
    assert.equal(await page.locator('[id$="-form-error"]').count(), 0, 'no form-level message');

    // Editing the field clears its error.
    await tags.press('Backspace');
    assert.equal(await tags.getAttribute('aria-invalid'), null);
    assert.equal(await page.locator('[id$="-tags-error"]').count(), 0, 'the message is gone');

    await tags.fill(Array.from({ length: 21 }, (_, i) => `t${i}`).join(', '));
    await shorten.click();
    await until(async () => (await tags.getAttribute('aria-invalid')) === 'true', 5000, 'the tags field to be marked invalid');
    assert.equal(await errorOf(page, tags), 'At most 20 tags.');
    assert.equal(await focusedName(page), 'tags');
    assert.deepEqual(sent, [], 'nothing was sent');

    // Twenty, one of them typed twice in two letter cases: one tag, made.
    await tags.fill(['Promo', 'promo', ...Array.from({ length: 19 }, (_, i) => `t${i}`)].join(', '));
    await shorten.click();
    await page.getByTestId('short-url').waitFor();
    const code = ((await page.getByTestId('short-url').textContent()) ?? '').split('/').at(-1) ?? '';
    assert.equal((await admin.get(code)).tags.length, 20);
    assert.deepEqual(await problems(), []);
  });

  test('"Shorten another" is a fresh form: every option back to its default, the focus on the URL', async () => {
    const { page, problems } = await openPage('/');
    await page.getByLabel('Long URL').fill('https://example.com/forms/first');
    await page.getByLabel('Custom alias (optional)').fill(`fa${Date.now().toString(36).slice(-6)}`);
    await page.getByLabel('Expires').selectOption('7d');
    await page.getByLabel('One-time link').check();
    await page.getByLabel('Forward query string').check();
    await page.getByLabel('Tags (optional)').fill('first');
    await page.getByLabel('Password (optional)').fill('a good password');
    await page.getByRole('button', { name: 'Shorten', exact: true }).click();
    await page.getByTestId('short-url').waitFor();
    await page.getByRole('button', { name: 'Shorten another' }).click();

    const url = page.getByLabel('Long URL');
    await url.waitFor();
    await until(async () => (await focusedName(page)) === 'url', 5000, 'the focus on the URL field');
    assert.deepEqual(
      {
        url: await url.inputValue(),
        alias: await page.getByLabel('Custom alias (optional)').inputValue(),
        expires: await page.getByLabel('Expires').inputValue(),
        oneTime: await page.getByLabel('One-time link').isChecked(),
        limit: await page.getByLabel('Visit limit (optional)').inputValue(),
        limitDisabled: await page.getByLabel('Visit limit (optional)').isDisabled(),
        forward: await page.getByLabel('Forward query string').isChecked(),
        tags: await page.getByLabel('Tags (optional)').inputValue(),
        password: await page.getByLabel('Password (optional)').inputValue(),
      },
      { url: '', alias: '', expires: 'never', oneTime: false, limit: '', limitDisabled: false, forward: false, tags: '', password: '' },
    );
    // The next link inherits nothing.
    await url.fill('https://example.com/forms/second');
    await page.getByRole('button', { name: 'Shorten', exact: true }).click();
    await page.getByTestId('short-url').waitFor();
    const code = ((await page.getByTestId('short-url').textContent()) ?? '').split('/').at(-1) ?? '';
    const second = await admin.get(code);
    assert.deepEqual([second.expires_at, second.is_one_time, second.max_visits, second.forward_query, second.has_password, second.tags], [null, false, null, false, false, []]);
    assert.deepEqual(await problems(), []);
  });

  test('a password too short: the error under the field, which takes the focus (home page and editor)', async () => {
    const home = await openPage('/');
    await home.page.getByLabel('Long URL').fill('https://example.com/forms/password');
    const password = home.page.getByLabel('Password (optional)');
    await password.fill('abc');
    await home.page.getByRole('button', { name: 'Shorten', exact: true }).click();
    await until(async () => (await password.getAttribute('aria-invalid')) === 'true', 5000, 'the password field to be marked invalid');
    assert.equal(await errorOf(home.page, password), 'A password needs at least 8 characters.');
    assert.equal(await focusedName(home.page), 'password', 'focus moves to the field');
    assert.deepEqual(home.sent, []);

    const link = await admin.shorten('https://example.com/forms/editor-password');
    const { page, sent, problems } = await openPage('/app/links', { apiKey: E2E_ADMIN_KEY });
    const dialog = await openEditor(page, link.short_code);
    await dialog.getByLabel('Password').selectOption('set');
    const newPassword = dialog.getByLabel('New password');
    await newPassword.fill('short');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await until(async () => (await newPassword.getAttribute('aria-invalid')) === 'true', 5000, 'the new password to be marked invalid');
    assert.equal(await errorOf(page, newPassword), 'A password needs at least 8 characters.');
    assert.equal(await focusedName(page), 'password', 'focus moves to the field');
    assert.deepEqual(sent, []);
    assert.deepEqual([...(await home.problems()), ...(await problems())], []);
  });

  /** On My links: finds the link `code` and opens its editor. */
  async function openEditor(page: Page, code: string): Promise<Locator> {
    await page.getByLabel('Search', { exact: true }).fill(code);
    await page.getByRole('button', { name: 'Search' }).click();
    const row = page.getByTestId('links').locator(`li[data-code="${code}"]`);
    await row.getByRole('button', { name: 'Edit' }).click();
    const dialog = page.getByRole('dialog', { name: `Edit ${code}` });
    await dialog.waitFor();
    return dialog;
  }

  test('the editor saved with no change closes and sends nothing', async () => {
    const link = await admin.shorten('https://example.com/forms/unchanged', { tags: ['promo', 'web'], maxVisits: 5, expiresIn: 86_400 });
    const { page, sent, problems } = await openPage('/app/links', { apiKey: E2E_ADMIN_KEY });
    const dialog = await openEditor(page, link.short_code);
    // The same tags, typed in another order and case: no change either.
    await dialog.getByLabel('Tags').fill('Web, promo');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.deepEqual(sent, [], 'no PATCH');
    assert.equal(await page.getByText('must set at least one of').count(), 0);
    const after = await admin.get(link.short_code);
    assert.deepEqual([after.tags, after.max_visits, after.expires_at, after.original_url], [link.tags, link.max_visits, link.expires_at, link.original_url]);

    // A change is still saved.
    const again = await openEditor(page, link.short_code);
    await again.getByLabel('Visit limit').fill('7');
    await again.getByRole('button', { name: 'Save' }).click();
    await again.waitFor({ state: 'detached' });
    assert.deepEqual(sent, [`PATCH /urls/${link.short_code}`]);
    assert.equal((await admin.get(link.short_code)).max_visits, 7);
    assert.deepEqual(await problems(), []);
  });

  test("a proxy's 502 page instead of Curt's answer: said as the server's trouble, in words, not the SDK's", async () => {
    const { page, problems } = await openPage('/');
    await page.route(`${service.url}/urls`, (route) =>
      route.request().method() === 'POST' ? route.fulfill({ status: 502, contentType: 'text/html', body: '<html><body><h1>502 Bad Gateway</h1></body></html>' }) : route.fallback(),
    );
    await page.getByLabel('Long URL').fill('https://example.com/forms/proxied');
    await page.getByRole('button', { name: 'Shorten', exact: true }).click();
    const message = page.locator('[id$="-form-error"]');
    await message.waitFor();
    assert.equal(await message.textContent(), 'The server could not do this just now (it answered HTTP 502). Try again in a moment.');
    assert.equal(await page.getByText("not Curt's JSON").count(), 0);
    assert.deepEqual(await problems(), []);
  });
});
