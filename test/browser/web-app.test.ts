// Issue 13 in a real browser: Debian's Chromium against real processes (a KGS and two URL services on
// PostgreSQL and Redis). A person shortens a link, copies it, follows it, reads its stats, and
// manages links and keys, with the keyboard where it matters; axe-core finds no serious or critical
// issue on any page in light or dark; no CSP violation anywhere; screenshots of every page go to
// test-artifacts/screenshots/ (desktop and phone).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { createCurtClient, type CurtClient } from '../../src/client/curt-client.ts';
import {
  DESKTOP,
  launchChromium,
  newContext,
  PHONE,
  screenshot,
  seriousA11yViolations,
  SKIP_BROWSER_TESTS,
  watchPage,
} from '../support/browser.ts';
import { until } from '../support/fault-probes.ts';
import { startBrowserStack, type BrowserStack } from '../support/browser-stack.ts';
import { E2E_ADMIN_KEY, type ServiceProcess } from '../support/processes.ts';
import { BROWSER_UA, PREVIEW_BOT_UA } from '../support/user-agents.ts';
import { startWebhookReceiver } from '../support/webhook-receiver.ts';
import { verifyWebhook } from '../../src/url/webhook-signature.ts';

const FLUSH_MS = 200;

test('without Chromium the browser tests fail, saying how to install it (or how to skip them)', async () => {
  await assert.rejects(launchChromium('/nonexistent/chromium'), /apt-get install chromium.*CURT_SKIP_BROWSER_TESTS=1/);
});

describe('the web app in Chromium', { skip: SKIP_BROWSER_TESTS ? 'CURT_SKIP_BROWSER_TESTS=1' : false }, () => {
  let stack: BrowserStack;
  let open: ServiceProcess;
  let closed: ServiceProcess;
  let browser: Browser;
  let admin: CurtClient;
  /** A link with a click, for the stats screenshots. */
  let clicked: string;

  before(async () => {
    stack = await startBrowserStack('browser');
    browser = stack.browser;
    const service = (allowAnonymous: boolean) =>
      stack.urlService({
        ALLOW_ANONYMOUS: String(allowAnonymous),
        CLICK_FLUSH_INTERVAL_MS: String(FLUSH_MS),
        // The webhook test's receiver is on 127.0.0.1; both services deliver (they share the outbox).
        WEBHOOK_ALLOW_PRIVATE: 'true',
      });
    [open, closed] = await Promise.all([service(true), service(false)]);
    admin = createCurtClient({ baseUrl: open.url, apiKey: E2E_ADMIN_KEY });
  });

  after(async () => stack?.close());

  async function openPage(path: string, options: { apiKey?: string; service?: ServiceProcess; userAgent?: string } = {}): Promise<{ page: Page; problems: () => Promise<string[]> }> {
    const base = (options.service ?? open).url;
    const context = await newContext(browser, {
      ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
      ...(options.userAgent === undefined ? {} : { userAgent: options.userAgent }),
      permissions: ['clipboard-read', 'clipboard-write'],
    });
    const page = await context.newPage();
    const problems = await watchPage(page);
    await page.goto(`${base}${path}`);
    return { page, problems };
  }

  test('shorten → copy → follow the short link (302) → the stats page shows the click in the chart, the table and the breakdowns, and a bot apart', async () => {
    // A person's browser: headless Chromium's own User-Agent ("HeadlessChrome") is a bot's, and its hits are no clicks.
    const { page, problems } = await openPage('/', { userAgent: BROWSER_UA });
    const target = 'https://example.com/browser/shorten?x=1';
    await page.getByLabel('Long URL').fill(target);
    await page.getByLabel('Expires').selectOption('7d');
    await page.getByRole('button', { name: 'Shorten', exact: true }).click();
    const shortLink = page.getByTestId('short-url');
    const shortUrl = (await shortLink.textContent()) ?? '';
    assert.match(shortUrl, new RegExp(`^${open.url}/[A-Za-z]{6}$`));
    const code = shortUrl.split('/').at(-1) ?? '';
    const live = page.getByTestId('live');
    await until(async () => /Short link created/.test((await live.textContent()) ?? ''), 5000, 'the live region to announce the link');

    // Copy: what lands on the clipboard is the short URL.
    await page.getByRole('button', { name: 'Copy short link' }).click();
    assert.equal(await page.evaluate<string>('navigator.clipboard.readText()'), shortUrl);
    await page.getByRole('button', { name: /Copied/ }).waitFor();

    // The QR code is the API's, shown from a blob: URL, with both downloads.
    const qr = page.getByRole('img', { name: `QR code of the short link ${code}` });
    await qr.waitFor();
    assert.match((await qr.getAttribute('src')) ?? '', /^blob:/);
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Download PNG' }).click();
    assert.equal((await download).suggestedFilename(), `${code}.png`);
    // README's picture (docs/images/web-home.png is a copy of this one).
    await screenshot(page, 'home-result-desktop-light');

    // Follow it as a browser from another site would, without following the redirect (the context's User-Agent).
    const followed = await page.request.get(shortUrl, { maxRedirects: 0, headers: { referer: 'https://news.example/story' } });
    assert.equal(followed.status(), 302);
    assert.equal(followed.headers().location, target);
    // Slack unfurls the link: a bot hit, not a click.
    const unfurled = await fetch(shortUrl, { redirect: 'manual', headers: { 'user-agent': PREVIEW_BOT_UA } });
    assert.ok(unfurled.status < 400, `the bot got ${unfurled.status}`);
    await unfurled.body?.cancel();

    await page.getByRole('link', { name: 'View stats' }).click();
    await page.waitForURL(`${open.url}/${code}+`);
    await page.getByRole('heading', { name: `Stats of ${code}` }).waitFor();
    // Clicks are written every FLUSH_MS: refresh until the click and the bot hit show.
    await until(
      async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        return (await page.getByTestId('total-clicks').textContent()) === '1' && (await page.getByTestId('total-bot-hits').textContent()) === '1';
      },
      10_000,
      'the click and the bot hit to reach the stats page',
    );
    const chart = page.getByTestId('clicks-chart');
    await chart.locator('canvas').first().waitFor();
    assert.equal(await chart.getAttribute('data-total'), '1', 'the chart plots the click');
    assert.equal(await chart.getAttribute('data-bot-hits'), '1', 'and the bot hit, as a series of its own');
    assert.equal(await chart.getAttribute('data-days'), '30');
    const today = new Date().toISOString().slice(0, 10);
    const daily = page.getByTestId('daily-table');
    assert.equal(await daily.getByRole('row', { name: `${today} 1 1` }).count(), 1, 'the table has the day with its click and its bot hit');
    // The breakdowns of the click: Chrome on Windows on a desktop, from no known country (127.0.0.1), via news.example.
    const row = (table: string, name: string | RegExp) => page.getByTestId(`${table}-table`).getByRole('row', { name });
    assert.equal(await row('referrers', 'news.example 1 100%').count(), 1);
    assert.equal(await row('browsers', 'Chrome 1 100%').count(), 1);
    assert.equal(await row('operating_systems', 'Windows 1 100%').count(), 1);
    assert.equal(await row('devices', 'Desktop 1 100%').count(), 1);
    assert.equal(await row('countries', 'Unknown 1 100%').count(), 1);
    // The bot is a bot's hit, in no breakdown of clicks.
    assert.equal(await row('bots', /^Slackbot\S* 1 100%$/).count(), 1);
    assert.equal(await page.getByTestId('browsers-table').getByRole('row').count(), 2, 'one browser under the header: the bot is not one');
    // The range changes the chart and the table.
    await page.getByText('7 days', { exact: true }).click();
    await until(async () => (await chart.getAttribute('data-days')) === '7', 5000, 'the 7-day range');
    assert.equal(await chart.getAttribute('data-total'), '1');
    // All: from the day the link was made, today.
    await page.getByText('All', { exact: true }).click();
    await until(async () => (await chart.getAttribute('data-days')) === '1', 5000, 'the range since the link was made');
    // Its axis is that day (half a day either side), not years of uPlot's own widening of one point.
    const midnight = Date.parse(today);
    const oneDay = `${new Date(midnight - 43_200_000).toISOString()}/${new Date(midnight + 43_200_000).toISOString()}`;
    const axis = async () => (await chart.locator('.chart-box').getAttribute('data-axis')) ?? '';
    let drawn = '';
    await until(async () => (drawn = await axis()) === oneDay, 5000, () => `the chart's axis to be the one day (${oneDay}), not ${drawn}`);
    assert.equal(await chart.getAttribute('data-total'), '1');
    assert.equal(await row('browsers', 'Chrome 1 100%').count(), 1);
    // The same page under /app/stats/{code}.
    await page.goto(`${open.url}/app/stats/${code}`);
    assert.equal(await page.getByTestId('total-clicks').textContent(), '1');
    clicked = code;
    assert.deepEqual(await problems(), []);
  });

  test("the API's errors show next to the field they concern, in words, and the field says it is invalid", async () => {
    await admin.shorten('https://example.com/taken', { alias: 'brtaken' });
    const { page, problems } = await openPage('/');
    await page.getByLabel('Long URL').fill('ftp://example.com/file');
    await page.getByRole('button', { name: 'Shorten', exact: true }).click();
    const url = page.getByLabel('Long URL');
    await until(async () => (await url.getAttribute('aria-invalid')) === 'true', 5000, 'the url field to be marked invalid');
    const urlError = page.locator(`#${(await url.getAttribute('aria-describedby')) ?? ''}`);
    assert.match((await urlError.textContent()) ?? '', /^The address must/);
    assert.equal(await page.evaluate<string>('document.activeElement.name'), 'url', 'focus moves to the field');

    await url.fill('https://example.com/ok');
    await page.getByLabel('Custom alias (optional)').fill('brtaken');
    await page.getByRole('button', { name: 'Shorten', exact: true }).click();
    const alias = page.getByLabel('Custom alias (optional)');
    await until(async () => (await alias.getAttribute('aria-invalid')) === 'true', 5000, 'the alias field to be marked invalid');
    const aliasError = (await alias.getAttribute('aria-describedby'))?.split(' ')[0] ?? '';
    assert.match((await page.locator(`#${aliasError}`).textContent()) ?? '', /"brtaken" is already taken\. Choose another alias/);
    assert.equal(await url.getAttribute('aria-invalid'), null, 'the url is fine now');
    assert.deepEqual(await problems(), []);
  });

  test('a visit limit and query forwarding: set on the home page, shown with the link, changed in My links', async () => {
    const { page, problems } = await openPage('/');
    await page.getByLabel('Long URL').fill('https://example.com/browser/limited?ref=1');
    const limit = page.getByLabel('Visit limit (optional)');
    // One-time is a limit of one: the field shows it and cannot be changed meanwhile.
    await page.getByLabel('One-time link').check();
    assert.deepEqual([await limit.isDisabled(), await limit.inputValue()], [true, '1']);
    await page.getByLabel('One-time link').uncheck();
    await limit.fill('0');
    await page.getByRole('button', { name: 'Shorten', exact: true }).click();
    await until(async () => (await limit.getAttribute('aria-invalid')) === 'true', 5000, 'the visit limit to be marked invalid');
    const limitError = (await limit.getAttribute('aria-describedby'))?.split(' ')[0] ?? '';
    assert.match((await page.locator(`#${limitError}`).textContent()) ?? '', /^The visit limit must be a whole number from 1 to/);
    assert.equal(await page.evaluate<string>('document.activeElement.name'), 'max_visits', 'focus moves to the field');
    await limit.fill('2');
    await page.getByLabel('Forward query string').check();
    await page.getByRole('button', { name: 'Shorten', exact: true }).click();
    const shortUrl = (await page.getByTestId('short-url').textContent()) ?? '';
    const code = shortUrl.split('/').at(-1) ?? '';
    const facts = page.getByTestId('result').locator('dl');
    assert.match((await facts.textContent()) ?? '', /Visits0 of 2Forwards queryyes/);

    // A person follows it with a campaign tag: it reaches the target, beside the target's own query.
    const follow = () => page.request.get(`${shortUrl}?utm_source=browser`, { maxRedirects: 0, headers: { 'user-agent': BROWSER_UA } });
    const first = await follow();
    assert.deepEqual([first.status(), first.headers().location], [302, 'https://example.com/browser/limited?ref=1&utm_source=browser']);

    // My links shows the visits; the editor changes the limit and turns forwarding off.
    const links = await openPage('/app/links', { apiKey: E2E_ADMIN_KEY });
    await links.page.getByLabel('Search', { exact: true }).fill(code);
    await links.page.getByRole('button', { name: 'Search' }).click();
    const row = links.page.getByTestId('links').locator(`li[data-code="${code}"]`);
    await row.getByText(/1 of 2 visits · forwards query/).waitFor();
    await row.getByRole('button', { name: 'Edit' }).click();
    const dialog = links.page.getByRole('dialog', { name: `Edit ${code}` });
    const editLimit = dialog.getByLabel('Visit limit');
    assert.equal(await editLimit.inputValue(), '2');
    await dialog.getByText('1 visit made so far').waitFor();
    await editLimit.fill('1');
    await dialog.getByLabel('Forward query string').uncheck();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await row.getByText('Used up', { exact: true }).waitFor();
    assert.equal((await follow()).status(), 410, 'lowered to the visits made: used up');
    const edited = await admin.get(code);
    assert.deepEqual([edited.max_visits, edited.visits, edited.forward_query, edited.state], [1, 1, false, 'used']);
    // Empty: no limit; the link redirects again, now without forwarding.
    await row.getByRole('button', { name: 'Edit' }).click();
    await dialog.getByLabel('Visit limit').fill('');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    const again = await follow();
    assert.deepEqual([again.status(), again.headers().location], [302, 'https://example.com/browser/limited?ref=1']);
    assert.equal((await admin.get(code)).max_visits, null);
    assert.deepEqual([...(await problems()), ...(await links.problems())], []);
  });

  test('with anonymous creation off, the home page asks for an API key, then shortens with it', async () => {
    const { page, problems } = await openPage('/', { service: closed });
    await page.getByRole('heading', { name: 'Sign in with an API key' }).waitFor();
    assert.equal(await page.getByLabel('Long URL').count(), 0);
    await page.getByLabel('API key', { exact: true }).fill('curt_not-a-real-key-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('This API key is not valid').waitFor();
    // Pasted with a letter no header can carry: said as such before any request, not as a connection failure.
    await page.getByLabel('API key', { exact: true }).fill('curt_pasted—with-a-dash');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That is not an API key: a key has no spaces or line breaks').waitFor();
    await page.getByLabel('API key', { exact: true }).fill(E2E_ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Long URL').fill('https://example.com/with-key');
    await page.getByRole('button', { name: 'Shorten', exact: true }).click();
    await page.getByTestId('short-url').waitFor();
    assert.equal(await page.evaluate<string | null>("sessionStorage.getItem('curt.apiKey')"), E2E_ADMIN_KEY, 'kept for this tab only');
    assert.equal(await page.evaluate<string | null>("localStorage.getItem('curt.apiKey')"), null);
    assert.deepEqual(await problems(), []);
  });

  test('My links: sign in, search, disable (410), enable, edit the target and expiry, delete after confirming (404), by keyboard where it counts', async () => {
    const needle = await admin.shorten('https://example.com/browser/needle-in-a-haystack');
    await admin.shorten('https://example.com/browser/hay');
    const { page, problems } = await openPage('/app/links');
    await page.getByLabel('API key', { exact: true }).fill(E2E_ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('links').waitFor();

    await page.getByLabel('Search', { exact: true }).fill('NEEDLE-in');
    await page.getByRole('button', { name: 'Search' }).click();
    const rows = page.getByTestId('links').locator('li');
    await until(async () => (await rows.count()) === 1, 5000, 'the search to leave one link');
    const row = rows.first();
    assert.equal(await row.getAttribute('data-code'), needle.short_code);
    const follow = async () => (await page.request.get(needle.short_url, { maxRedirects: 0 })).status();

    await row.getByRole('button', { name: 'Disable' }).click();
    await row.getByText('Disabled', { exact: true }).waitFor();
    assert.equal(await follow(), 410);
    // The state filter finds it among the disabled links.
    await page.getByLabel('Search', { exact: true }).fill('');
    await page.getByLabel('State').selectOption('disabled');
    await page.getByRole('button', { name: 'Search' }).click();
    await until(async () => (await rows.count()) === 1 && (await row.getAttribute('data-code')) === needle.short_code, 5000, 'the disabled link alone');
    await row.getByRole('button', { name: 'Enable' }).click();
    await until(async () => (await rows.count()) === 0, 5000, 'the enabled link to leave the disabled filter');
    assert.equal(await follow(), 302);

    await page.getByLabel('State').selectOption('');
    await page.getByLabel('Search', { exact: true }).fill(needle.short_code);
    await page.getByRole('button', { name: 'Search' }).click();
    await until(async () => (await rows.count()) === 1, 5000, 'the link by its code');

    // Edit, by keyboard: the dialog opens on Enter, takes a date, saves.
    await row.getByRole('button', { name: 'Edit' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: `Edit ${needle.short_code}` });
    await dialog.waitFor();
    // A target the API refuses: the error is under the field, the dialog stays.
    const target = dialog.getByLabel('Goes to');
    await target.fill('javascript:alert(1)');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await until(async () => (await target.getAttribute('aria-invalid')) === 'true', 5000, 'the target field to be marked invalid');
    await target.fill('https://example.com/browser/moved');
    await dialog.getByLabel('Never expires').uncheck();
    await dialog.getByLabel('Expires on').fill('2031-05-06T07:08');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    const edited = await admin.get(needle.short_code);
    assert.equal(edited.expires_at === null ? null : new Date(edited.expires_at).getFullYear(), 2031);
    assert.equal(edited.original_url, 'https://example.com/browser/moved');
    assert.equal((await page.request.get(needle.short_url, { maxRedirects: 0 })).headers().location, 'https://example.com/browser/moved');

    // Delete: Escape closes the confirmation and focus goes back to the button; then confirm.
    const deleteButton = row.getByRole('button', { name: 'Delete' });
    await deleteButton.click();
    const confirm = page.getByRole('dialog', { name: `Delete ${needle.short_code}?` });
    await confirm.waitFor();
    assert.equal(await page.evaluate<string>('document.activeElement.textContent'), 'Keep it', 'the safe choice has the focus');
    await page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'detached' });
    assert.equal(await follow(), 302, 'Escape deleted nothing');
    const focused = await page.evaluate<string>("document.activeElement.closest('li').dataset.code + ' ' + document.activeElement.textContent");
    assert.equal(focused, `${needle.short_code} Delete`, 'focus is back on Delete');
    await deleteButton.click();
    await confirm.getByRole('button', { name: 'Delete for good' }).click();
    await until(async () => (await rows.count()) === 0, 5000, 'the deleted link to leave the list');
    assert.equal(await follow(), 404);
    // The SDK sees what the page did.
    assert.deepEqual((await admin.list({ q: needle.short_code })).items, []);
    assert.deepEqual(await problems(), []);
  });

  test('Tags on My links: made with tags on the home page, shown as chips; a chip filters by its tag; the sort selector orders by clicks; the editor replaces the tags', async () => {
    const run = Date.now().toString(36);
    const { page, problems } = await openPage('/', { apiKey: E2E_ADMIN_KEY });
    await page.getByLabel('Long URL').fill(`https://example.com/browser/tagged-${run}`);
    await page.getByLabel('Tags (optional)').fill(`Promo-${run}, web`);
    await page.getByRole('button', { name: 'Shorten', exact: true }).click();
    await page.getByTestId('short-url').waitFor();
    assert.match((await page.getByTestId('result').locator('dl').textContent()) ?? '', new RegExp(`Tagspromo-${run}, web$`), 'the new link shows its tags, as stored');
    const made = (await admin.list({ tags: [`promo-${run}`] })).items;
    assert.deepEqual(made.map((l) => l.tags), [[`promo-${run}`, 'web']], 'stored lower case, sorted');
    // Due at a second and milliseconds the editor's minute field cannot show: a tags-only edit keeps it.
    const due = new Date(Math.floor(Date.now() / 60_000) * 60_000 + 3 * 86_400_000 + 58_250);
    const clicked = await admin.shorten(`https://example.com/browser/tagged-clicked-${run}`, { tags: [`promo-${run}`], expiresAt: due });

    await page.goto(new URL('/app/links', page.url()).href);
    const signIn = page.getByLabel('API key', { exact: true });
    if (await signIn.isVisible()) {
      await signIn.fill(E2E_ADMIN_KEY);
      await page.getByRole('button', { name: 'Sign in' }).click();
    }
    await page.getByTestId('links').waitFor();
    const rows = page.getByTestId('links').locator('li.link-row');
    await rows.first().getByRole('button', { name: `Show links tagged promo-${run}` }).click();
    await until(async () => (await rows.count()) === 2, 5000, 'the chip to leave the two tagged links');
    assert.equal(await page.getByLabel('Tags', { exact: true }).inputValue(), `promo-${run}`, 'the filter field shows the tag');

    // A click by a person, flushed: "Most clicks" puts that link first, "Fewest clicks" last.
    assert.equal((await admin.resolve(clicked.short_code, { userAgent: BROWSER_UA })).status, 302);
    await until(async () => (await admin.get(clicked.short_code)).clicks === 1, 10_000, 'the click to be flushed');
    for (const [label, first] of [['Most clicks', clicked.short_code], ['Fewest clicks', made[0]?.short_code]] as const) {
      await page.getByLabel('Sort').selectOption({ label });
      await page.getByRole('button', { name: 'Search' }).click();
      await until(async () => (await rows.first().getAttribute('data-code')) === first, 5000, `${label}: ${first} first`);
    }

    // The editor replaces the tags: the link leaves the filter.
    const row = page.locator(`li[data-code="${clicked.short_code}"]`);
    await row.getByRole('button', { name: 'Edit' }).click();
    const dialog = page.getByRole('dialog', { name: `Edit ${clicked.short_code}` });
    assert.equal(await dialog.getByLabel('Tags').inputValue(), `promo-${run}`);
    await dialog.getByLabel('Tags').fill('archived');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await until(async () => (await rows.count()) === 1, 5000, 'the retagged link to leave the filter');
    const retagged = await admin.get(clicked.short_code);
    assert.deepEqual(retagged.tags, ['archived']);
    assert.equal(retagged.expires_at, due.toISOString(), 'the expiry as it was: the editor sent only the tags');
    assert.deepEqual(await problems(), []);
  });

  /** A file of two rows for the import: a new alias, and a row whose url is none. */
  const twoRowFile = (alias: string) => ({ name: 'two-rows.csv', mimeType: 'text/csv', buffer: Buffer.from(`url,alias\r\nhttps://example.com/browser/imported,${alias}\r\nnot a url,\r\n`) });

  /** On My links: opens Import / Export, imports `file`, and waits for the report. */
  async function importThroughPage(page: Page, file: ReturnType<typeof twoRowFile>): Promise<void> {
    await page.getByRole('button', { name: 'Import / Export' }).click();
    const dialog = page.getByRole('dialog', { name: 'Import / Export' });
    await dialog.getByLabel('CSV or NDJSON file').setInputFiles(file);
    await dialog.getByRole('button', { name: 'Import a file' }).click();
    await dialog.getByTestId('import-report').waitFor();
  }

  test('Import / Export on My links: Download CSV saves the key\'s links; a two-row file shows one created, one refused with its reason', async () => {
    const made = await admin.createApiKey({ name: 'browser-porting' });
    const mine = createCurtClient({ baseUrl: open.url, apiKey: made.key });
    const links = [await mine.shorten('https://example.com/browser/export-1', { alias: 'brexport1' }), await mine.shorten('https://example.com/browser/export-2?a=1,2')];
    const { page, problems } = await openPage('/app/links', { apiKey: made.key });
    await page.getByTestId('links').waitFor();

    await page.getByRole('button', { name: 'Import / Export' }).click();
    const dialog = page.getByRole('dialog', { name: 'Import / Export' });
    const download = page.waitForEvent('download');
    await dialog.getByRole('button', { name: 'Download CSV' }).click();
    const saved = await download;
    assert.equal(saved.suggestedFilename(), 'curt-links.csv');
    const csv = await readFile(await saved.path(), 'utf8');
    const lines = csv.trimEnd().split('\r\n');
    assert.equal(lines[0], 'short_code,url,created_at,expires_at,is_one_time,max_visits,visits,forward_query,is_active,state,clicks,bot_hits,last_clicked_at,tags,has_password');
    assert.deepEqual(lines.slice(1).map((l) => l.split(',')[0]).sort(), links.map((l) => l.short_code).sort(), 'the key\'s links, and only them');
    assert.ok(csv.includes('"https://example.com/browser/export-2?a=1,2"'), 'a URL with a comma is quoted');
    await dialog.getByRole('button', { name: 'Close' }).click();

    await importThroughPage(page, twoRowFile('brimport1'));
    const report = page.getByTestId('import-report');
    assert.equal(await report.locator('.import-summary').textContent(), '2 rows: 1 created, 0 already there, 1 refused.');
    const refused = report.getByRole('table');
    assert.deepEqual(await refused.locator('thead th').allTextContents(), ['Row', 'Why']);
    const rows = refused.locator('tbody tr');
    assert.equal(await rows.count(), 1);
    assert.equal(await rows.first().locator('td').first().textContent(), '2');
    assert.match((await rows.first().locator('td').nth(1).textContent()) ?? '', /\(invalid_url\)$/);
    await until(async () => /Imported\. 2 rows: 1 created/.test((await page.getByTestId('live').textContent()) ?? ''), 5000, 'the live region to announce the import');
    // The list behind the dialog has the new link, and the API agrees.
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
    await page.locator('li[data-code=brimport1]').waitFor();
    assert.equal((await mine.get('brimport1')).original_url, 'https://example.com/browser/imported');
    assert.deepEqual(await problems(), []);
  });

  test('Import / Export: a report cut off before its summary says the import stopped, and to import the file again', async () => {
    const made = await admin.createApiKey({ name: 'browser-cut-report' });
    const { page, problems } = await openPage('/app/links', { apiKey: made.key });
    await page.getByRole('button', { name: 'Import / Export' }).waitFor();
    // The server's answer as a proxy that dropped the connection would leave it: a row, no summary.
    await page.route('**/urls/import', (route) => route.fulfill({ status: 200, contentType: 'application/x-ndjson', body: '{"row":1,"status":"created","short_code":"brcut1"}\n' }));
    await importThroughPage(page, twoRowFile('brcut1'));
    const report = page.getByTestId('import-report');
    assert.equal(await report.locator('.import-summary').count(), 0);
    assert.equal(
      await report.getByRole('alert').textContent(),
      'The import stopped: Its report ended before the summary. The rows before it are done; import the same file again to go on.',
    );
    await until(async () => /The import stopped part way\./.test((await page.getByTestId('live').textContent()) ?? ''), 5000, 'the live region to announce the stop');

    // Cut in the middle of a line: the refused row before the cut is still shown, with the reason.
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
    await page.unroute('**/urls/import');
    await page.route('**/urls/import', (route) =>
      route.fulfill({ status: 200, contentType: 'application/x-ndjson', body: '{"row":1,"status":"refused","reason":"not a URL (invalid_url)"}\n{"row":2,"sta' }),
    );
    await importThroughPage(page, twoRowFile('brcut2'));
    await until(async () => ((await report.getByRole('alert').textContent()) ?? '').includes('cut off'), 5000, 'the dialog to say the report was cut off');
    assert.equal(
      await report.getByRole('alert').textContent(),
      'The import stopped: Its report was cut off on its way here. The rows before it are done; import the same file again to go on.',
    );
    assert.deepEqual(await report.locator('tbody tr td').allTextContents(), ['1', 'not a URL (invalid_url)']);
    assert.deepEqual(await problems(), []);
  });

  test('a kept key revoked meanwhile: the first request it is refused on signs the page out, says so, and shortening goes on without a key', async () => {
    const key = await admin.createApiKey({ name: 'revoked-while-open' });
    const { page, problems } = await openPage('/', { apiKey: key.key });
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await admin.revokeApiKey(key.id);
    await page.getByLabel('Long URL').fill('https://example.com/browser/after-revocation');
    await page.getByRole('button', { name: 'Shorten', exact: true }).click();
    await page.getByTestId('signed-out').waitFor();
    assert.match((await page.getByTestId('signed-out').textContent()) ?? '', /refused \(revoked, or not valid here\): you are signed out/);
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0, 'no longer shown as signed in');
    assert.equal(await page.evaluate<string | null>("sessionStorage.getItem('curt.apiKey')"), null, 'the key is forgotten');
    // Anonymous creation is on here: the same form now shortens without a key.
    await page.getByRole('button', { name: 'Shorten', exact: true }).click();
    const shortUrl = (await page.getByTestId('short-url').textContent()) ?? '';
    assert.match(shortUrl, new RegExp(`^${open.url}/[A-Za-z]{6}$`));
    assert.equal((await admin.get(shortUrl.split('/').at(-1) ?? '')).original_url, 'https://example.com/browser/after-revocation');
    assert.deepEqual(await problems(), []);
  });

  test('two tabs of one browser: a remembered sign-in in one signs the other in, and signing out in either signs both out', async () => {
    const context = await newContext(browser);
    try {
      const [first, second] = [await context.newPage(), await context.newPage()];
      const problems = await Promise.all([watchPage(first), watchPage(second)]);
      for (const page of [first, second]) await page.goto(`${open.url}/app/links`);
      await first.getByLabel('API key', { exact: true }).fill(E2E_ADMIN_KEY);
      await first.getByLabel('Remember on this device').check();
      await first.getByRole('button', { name: 'Sign in' }).click();
      await first.getByRole('button', { name: 'Sign out' }).waitFor();
      // The other tab follows without a reload: its list is shown, not the sign-in form.
      await second.getByRole('button', { name: 'Sign out' }).waitFor();
      await until(async () => (await second.getByLabel('API key', { exact: true }).count()) === 0, 5000, "the other tab's sign-in form to go");

      await second.getByRole('button', { name: 'Sign out' }).click();
      await first.getByTestId('signed-out').waitFor();
      assert.equal(await first.getByTestId('signed-out').textContent(), 'Signed out in another tab or window: the key is no longer kept in this browser.');
      assert.equal(await first.getByRole('button', { name: 'Sign out' }).count(), 0, 'no longer shown as signed in');
      await first.getByLabel('API key', { exact: true }).waitFor();

      // And the other way round: signed in again from the second tab, signed out from the first.
      await second.getByLabel('API key', { exact: true }).fill(E2E_ADMIN_KEY);
      await second.getByLabel('Remember on this device').check();
      await second.getByRole('button', { name: 'Sign in' }).click();
      await first.getByRole('button', { name: 'Sign out' }).waitFor();
      await first.getByRole('button', { name: 'Sign out' }).click();
      await second.getByTestId('signed-out').waitFor();
      assert.equal(await second.getByRole('button', { name: 'Sign out' }).count(), 0, 'the second tab is signed out too');
      for (const watched of problems) assert.deepEqual(await watched(), []);
    } finally {
      await context.close();
    }
  });

  test('API keys: an admin creates a key (shown once) and revokes it', async () => {
    const { page, problems } = await openPage('/app/keys', { apiKey: E2E_ADMIN_KEY });
    await page.getByLabel('Name (optional)').fill('browser-made');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = (await page.getByTestId('new-key').locator('code').textContent()) ?? '';
    assert.match(shown, /^curt_/);
    const made = createCurtClient({ baseUrl: open.url, apiKey: shown });
    assert.equal((await made.list()).items.length, 0, 'the new key works');
    await page.getByRole('button', { name: 'Revoke browser-made' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('row', { name: /browser-made .* revoked/ }).waitFor();
    await assert.rejects(made.list(), /not valid|revoked|bearer/i);
    assert.deepEqual(await problems(), []);
  });

  test('Webhooks: add an endpoint (the secret shown once), make a link, see link.created delivered in its log; disable, enable, delete after confirming', async (t) => {
    const receiver = await startWebhookReceiver();
    t.after(() => receiver.close());
    const { page, problems } = await openPage('/app/webhooks', { apiKey: E2E_ADMIN_KEY });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).waitFor();
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();

    // Nothing chosen: the events say so, and take the focus.
    await page.getByLabel('Endpoint URL').fill(receiver.url);
    await page.getByRole('checkbox', { name: /link\.created/ }).uncheck();
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByText('Choose at least one event.', { exact: true }).waitFor();
    assert.equal(await page.evaluate<string>('document.activeElement.value'), 'link.created');
    await page.getByRole('checkbox', { name: /link\.created/ }).check();
    await page.getByLabel('Description (optional)').fill('browser receiver');
    await page.getByRole('button', { name: 'Add endpoint' }).click();

    // The secret, once, with a copy button and the warning; the focus is on it.
    const notice = page.getByTestId('new-webhook');
    await notice.getByText('You will not see this secret again.').waitFor();
    const secret = (await page.getByTestId('webhook-secret').textContent()) ?? '';
    assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.equal(await page.evaluate<string>('document.activeElement.textContent'), 'Webhook added: copy its secret now');
    await notice.getByRole('button', { name: 'Copy secret' }).click();
    assert.equal(await page.evaluate<string>('navigator.clipboard.readText()'), secret);
    const row = page.getByTestId('webhooks-table').getByRole('row', { name: /browser receiver/ });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /link\.createdActive0/);
    const listed = (await admin.listWebhooks()).find((h) => h.url === receiver.url);
    assert.ok(listed, 'the SDK lists it');
    assert.equal('secret' in listed, false, 'never with its secret');

    // A link made on the home page: its link.created reaches the receiver, signed with that secret.
    await page.getByRole('link', { name: 'Shorten' }).click();
    await page.getByLabel('Long URL').fill('https://example.com/browser/webhook');
    await page.getByRole('button', { name: 'Shorten', exact: true }).click();
    const code = ((await page.getByTestId('short-url').textContent()) ?? '').split('/').at(-1) ?? '';
    const [hook] = await receiver.waitFor(1);
    assert.ok(hook);
    assert.equal(hook.json.type, 'link.created');
    assert.equal(hook.json.data.short_code, code);
    const headers = { id: String(hook.headers['webhook-id']), timestamp: String(hook.headers['webhook-timestamp']), signature: String(hook.headers['webhook-signature']) };
    assert.ok(verifyWebhook(secret, headers, hook.body), 'signed with the secret the page showed');

    // The endpoint's deliveries: link.created, delivered in one attempt with a 204.
    await page.getByRole('link', { name: 'Webhooks' }).click();
    assert.equal(await page.getByTestId('new-webhook').count(), 0, 'the secret is not shown again');
    await row.getByRole('button', { name: 'Deliveries' }).click();
    const log = page.getByTestId('webhook-deliveries');
    await log.waitFor();
    // The focus moves in an effect, after the log is drawn: wait for it rather than race it.
    await page.waitForFunction("document.activeElement?.textContent?.startsWith('Deliveries to ') === true", undefined, { timeout: 5000 }).catch(() => undefined);
    assert.match(await page.evaluate<string>('document.activeElement.textContent'), /^Deliveries to /, 'focus moves to the log');
    const delivered = log.getByRole('row', { name: /^link\.created Delivered 1 HTTP 204 / });
    await until(
      async () => {
        await log.getByRole('button', { name: 'Refresh' }).click();
        return (await delivered.count()) === 1;
      },
      10_000,
      'the delivered link.created in the log',
    );
    assert.equal(await log.locator(`tr[data-event-id="${headers.id}"]`).count(), 1, 'the row is the event the receiver got');

    // Disable: no event for a link made meanwhile; enable again.
    await row.getByRole('button', { name: 'Disable' }).click();
    await row.getByText('Disabled', { exact: true }).waitFor();
    assert.equal(await page.evaluate<string>('document.activeElement.textContent'), 'Enable', 'focus stays on the toggle');
    await admin.shorten('https://example.com/browser/while-disabled');
    await row.getByRole('button', { name: 'Enable' }).click();
    await row.getByText('Active', { exact: true }).waitFor();
    assert.equal((await admin.webhookDeliveries(listed.id)).items.length, 1, 'no event was written for the link made while disabled');

    // Delete: Escape keeps it; confirmed, it leaves the list and the focus goes to the list.
    await row.getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog', { name: `Delete the webhook to ${receiver.url}?` });
    await confirm.waitFor();
    assert.equal(await page.evaluate<string>('document.activeElement.textContent'), 'Keep it');
    await page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'detached' });
    await row.getByRole('button', { name: 'Delete' }).click();
    await confirm.getByRole('button', { name: 'Delete webhook' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate<string>('document.activeElement.textContent'), 'Endpoints');
    assert.equal((await admin.listWebhooks()).some((h) => h.url === receiver.url), false);
    assert.deepEqual(await problems(), []);
  });

  test('every page: no serious or critical axe-core issue in light and dark; screenshots at desktop and phone size; nothing wider than a phone', async () => {
    const pages: { name: string; path: string; ready: string; apiKey?: string; then?: (page: Page) => Promise<void> }[] = [
      { name: 'home', path: '/', ready: 'form button[type=submit]' },
      { name: 'stats', path: `/${clicked}+`, ready: '[data-testid=clicks-chart] canvas' },
      { name: 'sign-in', path: '/app/links', ready: 'form.key-form' },
      { name: 'my-links', path: '/app/links', ready: '[data-testid=links]', apiKey: E2E_ADMIN_KEY },
      // The dialog with a report: a summary and a table of refused rows (the second run: the first row exists).
      { name: 'import-export', path: '/app/links', ready: '[data-testid=links]', apiKey: E2E_ADMIN_KEY, then: (page) => importThroughPage(page, twoRowFile('bra11y')) },
      { name: 'api-keys', path: '/app/keys', ready: '[data-testid=keys-table]', apiKey: E2E_ADMIN_KEY },
      { name: 'webhooks', path: '/app/webhooks', ready: '[data-testid=webhooks-list]', apiKey: E2E_ADMIN_KEY },
    ];
    // An endpoint to show on the webhooks page (nothing will make events for it).
    await admin.createWebhook('http://127.0.0.1:9/curt', ['link.created', 'link.clicked'], { description: 'screenshot' });
    const found: string[] = [];
    for (const scheme of ['light', 'dark'] as const) {
      for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]] as const) {
        // bypassCSP: axe is injected as an inline script, which the app's own CSP blocks.
        const context = await newContext(browser, { viewport, colorScheme: scheme, bypassCSP: true, ...(size === 'phone' ? { isMobile: true, hasTouch: true } : {}) });
        for (const spec of pages) {
          if (spec.apiKey !== undefined) await context.addInitScript({ content: `sessionStorage.setItem('curt.apiKey', ${JSON.stringify(spec.apiKey)});` });
          const page = await context.newPage();
          await page.goto(`${open.url}${spec.path}`);
          await page.locator(spec.ready).first().waitFor();
          await spec.then?.(page);
          await page.waitForTimeout(100);
          await screenshot(page, `${spec.name}-${size}-${scheme}`);
          if (size === 'phone') {
            // At 390 px and at the narrowest common phone, 375 px.
            for (const width of [PHONE.width, 375]) {
              await page.setViewportSize({ width, height: PHONE.height });
              // Against the width set, not window.innerWidth: an emulated phone widens its layout
              // viewport to a page that overflows, so that difference would stay 0.
              const overflow = (await page.evaluate<number>('document.documentElement.scrollWidth')) - width;
              assert.ok(overflow <= 0, `${spec.name} is ${overflow}px wider than a ${width} px phone`);
            }
          } else {
            for (const v of await seriousA11yViolations(page)) found.push(`${spec.name} (${scheme}): ${v}`);
          }
          await page.close();
          // Later pages of this context start signed out unless they say otherwise.
          if (spec.apiKey !== undefined) await context.addInitScript({ content: "sessionStorage.removeItem('curt.apiKey');" });
        }
        await context.close();
      }
    }
    assert.deepEqual(found, []);
  });

  test('the page loads nothing from another origin and its files are cached as immutable', async () => {
    const { page, problems } = await openPage('/');
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.reload();
    await page.getByLabel('Long URL').waitFor();
    assert.ok(requests.length >= 3);
    assert.deepEqual(requests.filter((u) => !u.startsWith(open.url)), []);
    const script = requests.find((u) => /\/assets\/index-[\w-]+\.js$/.test(u));
    assert.ok(script, 'the entry script is hashed');
    const res = await page.request.get(script);
    assert.equal(res.headers()['cache-control'], 'public, max-age=31536000, immutable');
    assert.deepEqual(await problems(), []);
    assert.equal((await admin.config()).allow_anonymous, true);
    // The SDK calls the page makes for QR codes.
    const png = await admin.qr(clicked, { format: 'png', size: 128 });
    assert.equal(png.type, 'image/png');
    assert.equal((await admin.qr(clicked)).type, 'image/svg+xml');
    await assert.rejects(createCurtClient({ baseUrl: open.url }).qr('nosuchcode'), /No short link has this code/);
    assert.equal((await createCurtClient({ baseUrl: closed.url }).config()).allow_anonymous, false);
  });
});
