// My links keeps its filters in the address, in Chromium against real processes (a KGS and a URL
// service on PostgreSQL and Redis): each filter applied is a history entry (Back undoes it, Forward
// redoes it), a reload or a shared address shows the same fields and rows, Back from a link's stats
// comes back to the filtered list and its page, values the API does not know break nothing, and one it
// would refuse (a bad tag, a search text too short) is said under its field. The focus stays in the
// form on a filter change (not on the heading) and is never left on <body>.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { createCurtClient, type CurtClient } from '../../src/client/curt-client.ts';
import { openWatchedPage, SKIP_BROWSER_TESTS, waitForFocus } from '../support/browser.ts';
import { startBrowserStack, type BrowserStack } from '../support/browser-stack.ts';
import { until } from '../support/fault-probes.ts';
import { E2E_ADMIN_KEY, type ServiceProcess } from '../support/processes.ts';

/** What has the focus, as `tag name` (`body` when nothing does). Page-side code is text: no DOM types here. */
const FOCUSED = `(() => {
  const e = document.activeElement;
  if (e === null || e === document.body) return 'body';
  return e.tagName.toLowerCase() + ' ' + (e.getAttribute('aria-label') ?? e.getAttribute('name') ?? e.textContent ?? '').trim().slice(0, 60);
})()`;

describe('My links: the filters in the address, in Chromium', { skip: SKIP_BROWSER_TESTS ? 'CURT_SKIP_BROWSER_TESTS=1' : false }, () => {
  let stack: BrowserStack;
  let service: ServiceProcess;
  let browser: Browser;
  let admin: CurtClient;

  before(async () => {
    stack = await startBrowserStack('browser_links_address');
    browser = stack.browser;
    service = await stack.urlService();
    admin = createCurtClient({ baseUrl: service.url, apiKey: E2E_ADMIN_KEY });
  });

  after(async () => {
    await stack?.close();
  });

  /** A page at `path` of the service, signed in with `key`. */
  const openPage = (path: string, key: string) => openWatchedPage(browser, `${service.url}${path}`, { apiKey: key });

  /** A key of its own with a link per entry of `tags` (oldest first), so that its list and pages are known. */
  async function keyWithLinks(tags: string[][]): Promise<{ key: string; codes: string[] }> {
    const { key } = await admin.createApiKey({ name: `address-${Date.now().toString(36)}` });
    const client = createCurtClient({ baseUrl: service.url, apiKey: key });
    const codes: string[] = [];
    for (const [i, linkTags] of tags.entries()) codes.push((await client.shorten(`https://example.com/address/${i}`, { tags: linkTags })).short_code);
    return { key, codes };
  }

  const codesShown = (page: Page) => page.evaluate<string[]>(`[...document.querySelectorAll('[data-testid="links"] li[data-code]')].map((row) => row.dataset.code)`);

  async function showing(page: Page, expected: string[], what: string): Promise<void> {
    let last: string[] = [];
    await until(
      async () => JSON.stringify((last = await codesShown(page))) === JSON.stringify(expected),
      5000,
      () => `${what}: ${expected.join(' ')} (shown: ${last.join(' ')})`,
    );
  }

  const focusOn = (page: Page, expected: RegExp, what: string) => waitForFocus(page, FOCUSED, expected, what);


  const path = (page: Page) => page.url().slice(service.url.length);

  /** The form's fields as a person sees them. */
  const fields = async (page: Page) => ({
    q: await page.getByLabel('Search', { exact: true }).inputValue(),
    state: await page.getByLabel('State').inputValue(),
    tags: await page.getByLabel('Tags', { exact: true }).inputValue(),
    sort: await page.getByLabel('Sort').inputValue(),
  });

  test('each filter applied is a history entry: Back undoes it, Forward redoes it; the focus stays in the form, never on <body>', async () => {
    // 21 links: the oldest and the newest tagged launch, so the oldest is on no first page but the filtered one.
    const { key, codes } = await keyWithLinks(Array.from({ length: 21 }, (_, i) => (i === 0 || i === 20 ? ['launch'] : [])));
    const [oldest, newest] = [codes[0] ?? '', codes[20] ?? ''];
    const unfiltered = codes.slice(1).reverse();
    const { page, problems } = await openPage('/app/links', key);
    await showing(page, unfiltered, 'the first page, newest first');

    // A tag's chip: the address names the tag; the focus stays on the chip, not on the page's heading.
    await page.locator(`li[data-code="${newest}"]`).getByRole('button', { name: 'Show links tagged launch' }).click();
    await showing(page, [newest, oldest], 'the links tagged launch');
    assert.equal(path(page), '/app/links?tag=launch');
    await focusOn(page, /^button Show links tagged launch$/, 'the chip');

    // Another filter from the form: another entry.
    await page.getByLabel('Sort').selectOption({ label: 'Oldest first' });
    await page.getByRole('button', { name: 'Search' }).click();
    await showing(page, [oldest, newest], 'the links tagged launch, oldest first');
    assert.equal(path(page), '/app/links?tag=launch&order=asc');
    await focusOn(page, /^button Search$/, 'the Search button');

    await page.goBack();
    await showing(page, [newest, oldest], 'Back: newest first again');
    assert.equal(path(page), '/app/links?tag=launch');
    assert.deepEqual(await fields(page), { q: '', state: '', tags: 'launch', sort: 'created-desc' });
    await focusOn(page, /^button Search$/, 'the Search button, still there');

    // A row's link has the focus; Back to the unfiltered list takes that row away: the focus goes to the list.
    await page.locator(`li[data-code="${oldest}"]`).getByRole('link', { name: 'Stats' }).focus();
    await page.goBack();
    await showing(page, unfiltered, 'Back: the unfiltered first page');
    assert.equal(path(page), '/app/links');
    assert.deepEqual(await fields(page), { q: '', state: '', tags: '', sort: 'created-desc' });
    await focusOn(page, /^ul Your links$/, 'the list (the row that had it is not on this page)');

    await page.goForward();
    await showing(page, [newest, oldest], 'Forward: the links tagged launch');
    assert.equal((await fields(page)).tags, 'launch');
    await focusOn(page, /^ul Your links$/, 'the list still');

    // Back and Forward at once, the unfiltered answer slow: the list shown is the last one asked for.
    await page.route(`${service.url}/urls?*`, async (route) => {
      if (!route.request().url().includes('tag=')) await new Promise((resolve) => setTimeout(resolve, 600));
      await route.fallback();
    });
    await page.goBack();
    await page.goForward();
    await page.waitForResponse((response) => response.url().startsWith(`${service.url}/urls?`) && !response.url().includes('tag='));
    await page.waitForTimeout(100);
    assert.deepEqual(await codesShown(page), [newest, oldest], 'the slow unfiltered answer is not shown under the tag filter');
    assert.deepEqual(await problems(), []);
  });

  test('a reload or a shared address shows the same filters and rows; Back from a link’s stats comes back to them and to their page', async () => {
    // 23 links, all but the newest tagged launch: the filtered list, oldest first, is 20 and then 2.
    const { key, codes } = await keyWithLinks(Array.from({ length: 23 }, (_, i) => (i === 22 ? [] : ['launch'])));
    const { page, problems } = await openPage('/app/links', key);
    await page.getByTestId('links').waitFor();
    await page.getByLabel('Search', { exact: true }).fill('address');
    await page.getByLabel('State').selectOption('active');
    await page.getByLabel('Tags', { exact: true }).fill('Launch');
    await page.getByLabel('Sort').selectOption({ label: 'Oldest first' });
    await page.getByRole('button', { name: 'Search' }).click();
    const filteredAddress = '/app/links?q=address&state=active&tag=Launch&order=asc';
    const filteredFields = { q: 'address', state: 'active', tags: 'Launch', sort: 'created-asc' };
    await showing(page, codes.slice(0, 20), 'the first page of the filter');
    assert.equal(path(page), filteredAddress);

    await page.reload();
    await showing(page, codes.slice(0, 20), 'the same rows after a reload');
    assert.deepEqual(await fields(page), filteredFields);

    // Page 2, then a link's stats, then Back: the filtered list's page 2, whose Previous still works.
    await page.getByRole('button', { name: 'Next' }).click();
    await showing(page, codes.slice(20, 22), 'page 2 of the filter');
    assert.equal(path(page), filteredAddress, 'the page is not in the address');
    await page.locator(`li[data-code="${codes[21] ?? ''}"]`).getByRole('link', { name: 'Stats' }).click();
    await focusOn(page, new RegExp(`^h1 Stats of ${codes[21] ?? ''}$`), 'the stats heading');
    await page.goBack();
    await showing(page, codes.slice(20, 22), 'page 2 of the filter, after Back');
    assert.deepEqual(await fields(page), filteredFields);
    assert.equal(await page.getByRole('navigation', { name: 'Pages' }).getByText('Page 2').count(), 1);
    await focusOn(page, /^h1 My links$/, 'the heading: another page was left');
    await page.reload();
    await showing(page, codes.slice(20, 22), 'page 2 of the filter, after a reload');
    // A move to a fragment (Skip to content) is a history entry too, with the same filters: it changes nothing.
    await page.evaluate(`location.hash = 'main'`);
    await page.waitForTimeout(500);
    assert.deepEqual(await codesShown(page), codes.slice(20, 22), 'still page 2 after Skip to content');
    await page.getByRole('button', { name: 'Previous' }).click();
    await showing(page, codes.slice(0, 20), 'page 1 of the filter');
    assert.deepEqual(await problems(), []);

    // The address given to someone else (a new tab signed in with the key): the same filters, from the first page.
    const shared = await openPage(filteredAddress, key);
    await showing(shared.page, codes.slice(0, 20), 'the first page of the filter, from a shared address');
    assert.deepEqual(await fields(shared.page), filteredFields);
    // The navigation's My links is the plain list, the focus left on the link clicked.
    await shared.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'My links' }).click();
    await showing(shared.page, codes.slice(3).reverse(), 'the unfiltered first page');
    assert.equal(path(shared.page), '/app/links');
    assert.deepEqual(await fields(shared.page), { q: '', state: '', tags: '', sort: 'created-desc' });
    await focusOn(shared.page, /^a My links$/, 'the navigation link');
    assert.deepEqual(await shared.problems(), []);
  });

  test('values the API does not know are left out, and a bad tag or a search too short is said under its field; nothing breaks', async () => {
    const { key, codes } = await keyWithLinks([[], []]);
    const { page, problems } = await openPage('/app/links?state=gone&sort=random&order=asc&cursor=nonsense', key);
    await showing(page, codes, 'every link, oldest first');
    assert.deepEqual(await fields(page), { q: '', state: '', tags: '', sort: 'created-asc' });

    const bad = await openPage('/app/links?tag=b@d', key);
    const tags = bad.page.getByLabel('Tags', { exact: true });
    await until(async () => (await tags.getAttribute('aria-invalid')) === 'true', 5000, 'the Tags field to be marked invalid');
    assert.equal(await tags.inputValue(), 'b@d');
    assert.match((await bad.page.getByTestId('links-refused').textContent()) ?? '', /No links shown: the search above was refused/);
    // Refused, so not searched: the page asked the API for no list with it (the requests it made, as the page saw them).
    // The field is marked from the address before the page's key check is answered: wait for that.
    const requests = (): Promise<string[]> => bad.page.evaluate<string[]>("performance.getEntriesByType('resource').map((e) => e.name)");
    await until(async () => (await requests()).some((url) => url.includes('/api-keys')), 5000, "the page's own requests to be seen");
    assert.deepEqual((await requests()).filter((url) => url.includes('/urls?')), [], 'no list was asked for');
    await tags.fill('');
    await bad.page.getByRole('button', { name: 'Search' }).click();
    await showing(bad.page, [...codes].reverse(), 'every link once the tag is gone');
    assert.equal(path(bad.page), '/app/links');
    // Back to the refused address: refused again, the focus on the field that says why.
    await bad.page.goBack();
    await until(async () => (await tags.getAttribute('aria-invalid')) === 'true', 5000, 'the Tags field to be marked invalid again');
    assert.equal(await bad.page.getByTestId('links-refused').count(), 1);
    await focusOn(bad.page, /^input tag$/, 'the Tags field');

    // A search text too short once trimmed (GET /urls would refuse it): said under the Search field the same way.
    const short = await openPage('/app/links?q=%20ab%20&state=active', key);
    const search = short.page.getByLabel('Search', { exact: true });
    await until(async () => (await search.getAttribute('aria-invalid')) === 'true', 5000, 'the Search field to be marked invalid');
    assert.deepEqual(await fields(short.page), { q: 'ab', state: 'active', tags: '', sort: 'created-desc' });
    const errorId = (await search.getAttribute('aria-describedby')) ?? '';
    assert.equal(await short.page.locator(`#${errorId}`).textContent(), 'A search needs at least 3 characters: "ab" has 2.');
    assert.match((await short.page.getByTestId('links-refused').textContent()) ?? '', /No links shown: the search above was refused/);
    assert.equal(await short.page.getByRole('alert').getByText('q needs', { exact: false }).count(), 0, "not the API's words");
    const asked = await short.page.evaluate<string[]>("performance.getEntriesByType('resource').map((e) => e.name)");
    assert.deepEqual(asked.filter((url) => url.includes('/urls?')), [], 'no list was asked for');
    await search.fill('address');
    await short.page.getByRole('button', { name: 'Search' }).click();
    await showing(short.page, [...codes].reverse(), 'the links whose address has "address"');
    assert.equal(path(short.page), '/app/links?q=address&state=active');
    await short.page.goBack();
    await until(async () => (await search.getAttribute('aria-invalid')) === 'true', 5000, 'the Search field to be marked invalid again');
    await focusOn(short.page, /^input q$/, 'the Search field');
    assert.deepEqual([...(await problems()), ...(await bad.problems()), ...(await short.problems())], []);
  });
});
