// Where the web app leaves the focus after an action, in Chromium against real processes (a KGS and a
// URL service on PostgreSQL and Redis): never on <body>. Moving to another page puts it on the new
// page's heading; a deleted link's row gives it to the row in its place (and a page left empty steps
// back); Next onto the last page leaves it on Previous; an error in the editor goes to its message; an
// import to its report; a wrong key to its field; a revoked key to the table; Refresh keeps it; signing
// in (on a stats page too, whose form stays until the stats are in) and out puts it on the page's
// heading. Also: a refused tag filter or a search text too short shows no stale list under it, and a
// past expiry in the editor is asked about before it ends the link.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createCurtClient, type CurtClient } from '../../src/client/curt-client.ts';
import { openWatchedPage, SKIP_BROWSER_TESTS, waitForFocus } from '../support/browser.ts';
import { startBrowserStack, type BrowserStack } from '../support/browser-stack.ts';
import { until } from '../support/fault-probes.ts';
import { E2E_ADMIN_KEY, type ServiceProcess } from '../support/processes.ts';

/** What has the focus, as `tag#id text` (`body` when nothing does). Page-side code is text: no DOM types here. */
const FOCUSED = `(() => {
  const e = document.activeElement;
  if (e === null || e === document.body) return 'body';
  const row = e.closest('li[data-code]');
  return e.tagName.toLowerCase() + (row === null ? '' : '[' + row.dataset.code + ']') + ' ' + (e.getAttribute('aria-label') ?? e.textContent ?? '').trim().replace(/\\s+/g, ' ').slice(0, 80);
})()`;

describe('where the web app leaves the focus, in Chromium', { skip: SKIP_BROWSER_TESTS ? 'CURT_SKIP_BROWSER_TESTS=1' : false }, () => {
  let stack: BrowserStack;
  let service: ServiceProcess;
  let browser: Browser;
  let admin: CurtClient;
  let files: string;

  before(async () => {
    stack = await startBrowserStack('browser_focus');
    browser = stack.browser;
    // The deliveries test's endpoint is on 127.0.0.1 (nothing listens: its deliveries fail, which is fine).
    service = await stack.urlService({ WEBHOOK_ALLOW_PRIVATE: 'true' });
    admin = createCurtClient({ baseUrl: service.url, apiKey: E2E_ADMIN_KEY });
    files = mkdtempSync(join(tmpdir(), 'curt-web-focus-'));
  });

  after(async () => {
    await stack?.close();
    if (files !== undefined) rmSync(files, { recursive: true, force: true });
  });

  /** A page at `path` of the service (openWatchedPage). */
  const openPage = (path: string, options: { apiKey?: string } = {}) => openWatchedPage(browser, `${service.url}${path}`, options);

  const focusOn = (page: Page, expected: RegExp, what: string) => waitForFocus(page, FOCUSED, expected, what);

  /** A key of its own with `count` links, so that its list and pages are known. */
  async function keyWithLinks(count: number): Promise<{ key: string; client: CurtClient; codes: string[] }> {
    const { key } = await admin.createApiKey({ name: `focus-${Date.now().toString(36)}` });
    const client = createCurtClient({ baseUrl: service.url, apiKey: key });
    const codes: string[] = [];
    for (let i = 0; i < count; i++) codes.push((await client.shorten(`https://example.com/focus/${i}`)).short_code);
    return { key, client, codes };
  }

  test("moving to another page in the app puts the focus on the new page's heading", async () => {
    const { page, problems } = await openPage('/', { apiKey: E2E_ADMIN_KEY });
    await page.getByLabel('Long URL').fill('https://example.com/focus/navigation');
    await page.getByRole('button', { name: 'Shorten', exact: true }).click();
    await page.getByTestId('short-url').waitFor();
    const code = ((await page.getByTestId('short-url').textContent()) ?? '').split('/').at(-1) ?? '';

    // "View stats": the stats page is a chunk loaded then, and its heading comes with its data.
    await page.getByRole('link', { name: 'View stats' }).click();
    await focusOn(page, new RegExp(`^h1 Stats of ${code}$`), 'the stats page heading');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'My links' }).click();
    await focusOn(page, /^h1 My links$/, 'the My links heading');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).click();
    await focusOn(page, /^h1 Webhooks$/, 'the Webhooks heading');
    // Back is a move too.
    await page.goBack();
    await focusOn(page, /^h1 My links$/, 'the My links heading after Back');
    assert.deepEqual(await problems(), []);
  });

  test('My links: Next onto the last page leaves the focus on Previous; deleting a row gives it to the row in its place; a page left empty steps back', async () => {
    const { key, client, codes } = await keyWithLinks(22);
    const { page, problems } = await openPage('/app/links', { apiKey: key });
    const rows = page.getByTestId('links').locator('li[data-code]');
    await until(async () => (await rows.count()) === 20, 5000, 'the first page of 20');

    await page.getByRole('button', { name: 'Next' }).click();
    await until(async () => (await rows.count()) === 2, 5000, 'the last page, of 2');
    assert.equal(await page.getByRole('button', { name: 'Next' }).isDisabled(), true);
    await focusOn(page, /^button Previous$/, 'Previous (Next is disabled on the last page)');

    // Newest first: page 2 holds the two oldest links. Deleting the first, its place goes to the second.
    const [oldest, second] = codes;
    assert.equal(await rows.first().getAttribute('data-code'), second);
    await rows.first().getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: `Delete ${second}?` }).getByRole('button', { name: 'Delete for good' }).click();
    await until(async () => (await rows.count()) === 1, 5000, 'the row to leave the list');
    await focusOn(page, new RegExp(`^li\\[${oldest}\\] `), 'the row now in its place');

    // The page's last row deleted: the page before it is shown (not an empty "Page 2"), the focus in its list.
    await rows.first().getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: `Delete ${oldest}?` }).getByRole('button', { name: 'Delete for good' }).click();
    await until(async () => (await rows.count()) === 20, 5000, 'the first page again');
    assert.equal(await page.getByText('No link matches.').count(), 0);
    assert.equal(await page.getByText('No links yet', { exact: false }).count(), 0);
    assert.equal(await page.getByRole('navigation', { name: 'Pages' }).count(), 0, 'twenty links: one page, no pager');
    await focusOn(page, /^li\[[A-Za-z0-9_-]+\] /, 'a row of the list');
    assert.equal((await client.list({ limit: 100 })).items.length, 20);
    assert.deepEqual(await problems(), []);
  });

  test('My links: a refused tag filter is said under the Tags field, which takes the focus, and the list is not left under it', async () => {
    const { key } = await keyWithLinks(2);
    const { page, problems } = await openPage('/app/links', { apiKey: key });
    const rows = page.getByTestId('links').locator('li[data-code]');
    await until(async () => (await rows.count()) === 2, 5000, 'the unfiltered list');

    const tags = page.getByLabel('Tags', { exact: true });
    await tags.fill('b@d');
    await page.getByRole('button', { name: 'Search' }).click();
    await until(async () => (await tags.getAttribute('aria-invalid')) === 'true', 5000, 'the Tags field to be marked invalid');
    const errorId = (await tags.getAttribute('aria-describedby')) ?? '';
    assert.equal(await page.locator(`#${errorId}`).textContent(), 'The tag "b@d" has characters a tag cannot have: 1 to 32 of letters, digits and - _ . : /');
    assert.equal(await rows.count(), 0, 'the unfiltered list is not shown as the result');
    assert.match((await page.getByTestId('links-refused').textContent()) ?? '', /No links shown: the search above was refused/);
    await focusOn(page, /^input /, 'the Tags field');
    assert.equal(await page.evaluate<string>('document.activeElement.name'), 'tag');

    // A good filter searches again.
    await tags.fill('');
    await page.getByRole('button', { name: 'Search' }).click();
    await until(async () => (await rows.count()) === 2, 5000, 'the list again');
    assert.deepEqual(await problems(), []);
  });

  test('My links: a search shorter than 3 characters once trimmed is said under the Search field, which takes the focus; nothing is sent', async () => {
    const { key } = await keyWithLinks(2);
    const { page, problems } = await openPage('/app/links', { apiKey: key });
    const rows = page.getByTestId('links').locator('li[data-code]');
    await until(async () => (await rows.count()) === 2, 5000, 'the unfiltered list');
    const lists: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/urls') lists.push(request.url());
    });

    // Three characters typed, two once trimmed (what is sent), and then two typed.
    const search = page.getByRole('searchbox', { name: 'Search' });
    for (const [typed, message] of [
      [' it ', 'A search needs at least 3 characters: "it" has 2.'],
      ['é', 'A search needs at least 3 characters: "é" has 1.'],
    ] as const) {
      await search.fill(typed);
      await search.press('Enter');
      await until(async () => (await search.getAttribute('aria-invalid')) === 'true', 5000, 'the Search field to be marked invalid');
      const errorId = (await search.getAttribute('aria-describedby')) ?? '';
      assert.equal(await page.locator(`#${errorId}`).textContent(), message);
      assert.equal(await rows.count(), 0, 'the unfiltered list is not shown as the result');
      assert.match((await page.getByTestId('links-refused').textContent()) ?? '', /No links shown: the search above was refused/);
      await focusOn(page, /^input /, 'the Search field');
      assert.equal(await page.evaluate<string>('document.activeElement.name'), 'q');
      assert.equal(new URL(page.url()).search, '', 'the address keeps no search');
      // Edited, the message goes.
      await search.press('End');
      await page.keyboard.type('x');
      assert.equal(await search.getAttribute('aria-invalid'), null);
    }
    assert.deepEqual(lists, [], 'no list was asked for');

    await search.fill('focus');
    await page.getByRole('button', { name: 'Search' }).click();
    await until(async () => (await rows.count()) === 2, 5000, 'the links found');
    assert.equal(new URL(page.url()).search, '?q=focus');
    assert.deepEqual(await problems(), []);
  });

  /** On My links: the editor of the link `code`. */
  async function openEditor(page: Page, code: string) {
    const row = page.getByTestId('links').locator(`li[data-code="${code}"]`);
    await row.getByRole('button', { name: 'Edit' }).click();
    const dialog = page.getByRole('dialog', { name: `Edit ${code}` });
    await dialog.waitFor();
    return dialog;
  }

  test("the editor: an error takes the focus to its field, or to its message when it is the form's; the dialog stays open", async () => {
    const { key, codes } = await keyWithLinks(1);
    const code = codes[0] ?? '';
    const { page, problems } = await openPage('/app/links', { apiKey: key });
    const dialog = await openEditor(page, code);
    const target = dialog.getByLabel('Goes to');

    // A target that is Curt itself, refused by the API: under the field, which has the focus.
    await target.fill(`${service.url}/elsewhere`);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await until(async () => (await target.getAttribute('aria-invalid')) === 'true', 5000, 'the target field to be marked invalid');
    assert.match((await dialog.locator('[id$="-url-error"]').textContent()) ?? '', /would redirect to itself\./);
    await focusOn(page, /^input /, 'the target field');
    assert.equal(await page.evaluate<string>('document.activeElement.name'), 'url');

    // A proxy's 502 in place of the answer (and slow to come): the form's message takes the focus.
    await page.route(`${service.url}/urls/${code}`, async (route) => {
      if (route.request().method() !== 'PATCH') return route.fallback();
      await new Promise((resolve) => setTimeout(resolve, 300));
      await route.fulfill({ status: 502, contentType: 'text/html', body: '<html><body>502 Bad Gateway</body></html>' });
    });
    await target.fill('https://example.com/focus/moved');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.locator('[id$="-form-error"]').waitFor();
    await focusOn(page, /^p The server could not do this just now \(it answered HTTP 502\)/, "the form's message");
    assert.equal(await dialog.isVisible(), true, 'the dialog is still open');
    assert.deepEqual(await problems(), []);
  });

  test('the editor: a past expiry is asked about under the field before anything is sent; Save again ends the link (410)', async () => {
    const { key, client, codes } = await keyWithLinks(1);
    const code = codes[0] ?? '';
    const { page, sent, problems } = await openPage('/app/links', { apiKey: key });
    const dialog = await openEditor(page, code);
    await dialog.getByLabel('Never expires').uncheck();
    const date = dialog.getByLabel('Expires on');
    await date.fill('2020-01-01T00:00');
    // Said as soon as the date is past, tied to the field.
    const warning = dialog.getByTestId('past-expiry');
    await warning.waitFor();
    assert.equal(await warning.textContent(), 'This date is in the past: the link stops redirecting at once.');
    assert.equal(await date.getAttribute('aria-describedby'), await warning.getAttribute('id'));

    // The first Save stops there and asks; nothing is sent.
    await dialog.getByRole('button', { name: 'Save' }).click();
    await until(async () => /Save again to end the link now/.test((await warning.textContent()) ?? ''), 5000, 'the question');
    await focusOn(page, /^input /, 'the expiry field');
    assert.equal(await page.evaluate<string>('document.activeElement.name'), 'expires_at');
    assert.deepEqual(sent, [], 'nothing was sent');
    assert.equal((await client.get(code)).expires_at, null);

    // Save again: it is what the person wants, and the API allows it.
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.deepEqual(sent, [`PATCH /urls/${code}`]);
    const link = await client.get(code);
    assert.equal(link.state, 'expired');
    assert.equal((await page.request.get(link.short_url, { maxRedirects: 0 })).status(), 410);

    // A future date is no question.
    const again = await openEditor(page, code);
    await again.getByLabel('Expires on').fill('2040-01-01T00:00');
    assert.equal(await again.getByTestId('past-expiry').count(), 0);
    await again.getByRole('button', { name: 'Save' }).click();
    await again.waitFor({ state: 'detached' });
    assert.equal((await client.get(code)).state, 'active');
    assert.deepEqual(await problems(), []);
  });

  test('Import / Export: an import moves the focus to its report, the dialog still open', async () => {
    const { key } = await keyWithLinks(0);
    const { page, problems } = await openPage('/app/links', { apiKey: key });
    await page.getByRole('button', { name: 'Import / Export' }).click();
    const dialog = page.getByRole('dialog', { name: 'Import / Export' });
    await dialog.waitFor();
    const file = join(files, 'two-rows.csv');
    writeFileSync(file, 'url\nhttps://example.com/focus/imported\nnot a url\n');
    await dialog.getByLabel('CSV or NDJSON file').setInputFiles(file);
    // The report slow to come, so the button waits long enough for a disabled one to lose the focus.
    await page.route(`${service.url}/urls/import*`, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await route.fallback();
    });
    await dialog.getByRole('button', { name: 'Import a file' }).click();
    await dialog.getByTestId('import-report').waitFor();
    await focusOn(page, /^p 2 rows: 1 created, 0 already there, 1 refused\.$/, 'the summary');
    assert.equal(await dialog.isVisible(), true);
    assert.deepEqual(await problems(), []);
  });

  test('signing in: a wrong key takes the focus to its field; signing out puts it on the page heading', async () => {
    const { page, problems } = await openPage('/app/links');
    const field = page.getByLabel('API key', { exact: true });
    await field.fill('curt_not-a-key-of-this-server-000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await until(async () => (await field.getAttribute('aria-invalid')) === 'true', 5000, 'the key field to be marked invalid');
    await focusOn(page, /^input /, 'the API key field');
    assert.equal(await page.evaluate<string>('document.activeElement.name'), 'api-key');

    await field.fill(E2E_ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('links').waitFor();
    await focusOn(page, /^h1 My links$/, 'the page heading, the form gone');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key', { exact: true }).waitFor();
    await focusOn(page, /^h1 My links$/, 'the page heading after signing out');
    assert.deepEqual(await problems(), []);
  });

  test("signing in on a stats page (a link of a key): the form says who may read it; once the stats are in, the focus is on the page's heading", async () => {
    const { key, codes } = await keyWithLinks(1);
    const code = codes[0] ?? '';
    const { page, problems } = await openPage(`/${code}+`);
    const form = page.locator('form.key-form');
    await form.waitFor();
    assert.equal(await form.locator('p').first().textContent(), 'Only an API key that may read this link sees its stats: the key that made it, or an admin key.');
    const field = page.getByLabel('API key', { exact: true });
    await field.fill(key);
    // The stats slow to come: the form (and the field with the focus) stays until they are in.
    await page.route(`${service.url}/urls/${code}/analytics*`, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await route.fallback();
    });
    await field.press('Enter');
    await page.getByTestId('summary').waitFor();
    await focusOn(page, new RegExp(`^h1 Stats of ${code}$`), 'the stats heading, the form gone');
    assert.deepEqual(await problems(), []);
  });

  test('Shorten: while it waits the button keeps the focus, and an answer that never came leaves it there', async () => {
    const { page, problems } = await openPage('/', { apiKey: E2E_ADMIN_KEY });
    await page.getByLabel('Long URL').fill('https://example.com/focus/no-answer');
    // Slow, then no answer at all: a disabled button would have dropped the focus to <body> meanwhile.
    await page.route(`${service.url}/urls`, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await route.abort('connectionrefused');
    });
    const shorten = page.getByRole('button', { name: 'Shorten', exact: true });
    await shorten.click();
    await page.getByRole('alert').getByText('The server could not be reached', { exact: false }).waitFor();
    await focusOn(page, /^button Shorten$/, 'the Shorten button');
    assert.deepEqual(await problems(), []);
  });

  test('signing out on the Shorten page and on a stats page puts the focus on the page heading too', async () => {
    const { key, codes } = await keyWithLinks(1);
    for (const [path, heading] of [
      ['/', /^h1 Shorten a link$/],
      [`/app/stats/${codes[0] ?? ''}`, new RegExp(`^h1 Stats of ${codes[0] ?? ''}$`)],
    ] as const) {
      const { page, problems } = await openPage(path, { apiKey: key });
      const signOut = page.getByRole('button', { name: 'Sign out' });
      await signOut.waitFor();
      await signOut.click();
      await until(async () => (await signOut.count()) === 0, 5000, 'the Sign out button to go');
      await focusOn(page, heading, `the heading of ${path} after signing out`);
      assert.deepEqual(await problems(), []);
    }
  });

  test('API keys: a revoked key loses its Revoke button, and the focus goes to the table of keys', async () => {
    const { key } = await admin.createApiKey({ name: `focus-revoked-${Date.now().toString(36)}` });
    const info = (await admin.listApiKeys()).find((k) => key.startsWith(k.key_prefix));
    const name = info?.name ?? '';
    const { page, problems } = await openPage('/app/keys', { apiKey: E2E_ADMIN_KEY });
    await page.getByRole('button', { name: `Revoke ${name}` }).click();
    await page.getByRole('dialog', { name: `Revoke ${name}?` }).getByRole('button', { name: 'Revoke' }).click();
    await until(async () => (await page.getByRole('button', { name: `Revoke ${name}` }).count()) === 0, 5000, 'the key to be revoked');
    await focusOn(page, /^table Keys, oldest first/, 'the table of keys');
    assert.deepEqual(await problems(), []);
  });

  test("a webhook's deliveries: Refresh keeps the focus", async () => {
    const hook = await admin.createWebhook(`http://127.0.0.1:9/focus-${Date.now().toString(36)}`, ['link.created'], { description: 'focus refresh' });
    const { page, problems } = await openPage('/app/webhooks', { apiKey: E2E_ADMIN_KEY });
    await page.locator(`tr[data-webhook-id="${hook.id}"]`).getByRole('button', { name: 'Deliveries' }).click();
    const log = page.getByTestId('webhook-deliveries');
    await log.waitFor();
    await focusOn(page, /^h2 Deliveries to /, 'the deliveries heading');
    // Slow to answer, so that a button disabled meanwhile would lose the focus.
    await page.route(`${service.url}/webhooks/${hook.id}/deliveries*`, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await route.fallback();
    });
    const refresh = log.getByRole('button', { name: 'Refresh' });
    await refresh.click();
    await page.waitForResponse((response) => response.url().includes(`/webhooks/${hook.id}/deliveries`));
    await page.waitForTimeout(200);
    await focusOn(page, /^button Refresh$/, 'Refresh');
    assert.deepEqual(await problems(), []);
  });
});
