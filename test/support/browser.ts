// Debian's Chromium driven by playwright-core (which never downloads a browser here): launching it,
// catching Content-Security-Policy violations, axe-core checks and screenshots for test-artifacts/.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { until } from './fault-probes.ts';
import { ROOT } from './processes.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = join(ROOT, 'test-artifacts', 'screenshots');
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Set to 1 to skip the browser tests on a machine without Chromium; otherwise its absence fails them. */
export const SKIP_BROWSER_TESTS = process.env.CURT_SKIP_BROWSER_TESTS === '1';

export const NO_CHROMIUM = `Chromium is not installed at ${CHROMIUM}: install it with \`apt-get install chromium\` (Debian), or set CURT_SKIP_BROWSER_TESTS=1 to skip the browser tests`;

export async function launchChromium(executablePath = CHROMIUM): Promise<Browser> {
  if (!existsSync(executablePath)) throw new Error(NO_CHROMIUM);
  return chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}

/**
 * Every CSP violation and script error on the page. The listener is an init script, which the browser
 * runs outside the page's CSP: the page itself can load no inline script.
 */
export async function watchPage(page: Page): Promise<() => Promise<string[]>> {
  const problems: string[] = [];
  // Page-side code is given as text: this project's TypeScript has no DOM types (it is Node code).
  await page.addInitScript({
    content: `window.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective + ' blocked ' + e.blockedURI));`,
  });
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return async () => [...problems, ...(await page.evaluate<string[]>('window.cspViolations ?? []').catch(() => []))];
}

/**
 * A page at `url` in a context of its own (signed in with `apiKey`), with what it sends to the API
 * other than GETs as `METHOD /path`, and its CSP violations and script errors.
 */
export async function openWatchedPage(browser: Browser, url: string, options: { apiKey?: string } = {}): Promise<{ page: Page; sent: string[]; problems: () => Promise<string[]> }> {
  const context = await newContext(browser, options.apiKey === undefined ? {} : { apiKey: options.apiKey });
  const page = await context.newPage();
  const problems = await watchPage(page);
  const sent: string[] = [];
  page.on('request', (request) => {
    if (request.method() !== 'GET') sent.push(`${request.method()} ${new URL(request.url()).pathname}`);
  });
  await page.goto(url);
  return { page, sent, problems };
}

/** A context signed in with `apiKey` (sessionStorage, as the app keeps it) before any page loads. */
export async function newContext(browser: Browser, options: BrowserContextOptions & { apiKey?: string } = {}): Promise<BrowserContext> {
  const { apiKey, ...rest } = options;
  const context = await browser.newContext({ viewport: DESKTOP, ...rest });
  context.setDefaultTimeout(15_000);
  if (apiKey !== undefined) await context.addInitScript({ content: `sessionStorage.setItem('curt.apiKey', ${JSON.stringify(apiKey)});` });
  return context;
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * axe-core's serious and critical findings on the page as it is now. axe is injected as an inline
 * script, which the app's CSP rightly blocks: the page must come from a `bypassCSP` context.
 */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: AXE_SOURCE });
  const { violations } = await page.evaluate<{ violations: AxeViolation[] }>(`axe.run(document, { resultTypes: ['violations'] })`);
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact ?? ''} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Waits for the focus to match `expected` (the web app moves it in effects, after the page is drawn).
 * `describe` is page-side code, as text, that says what has the focus; the failure names it.
 */
export async function waitForFocus(page: Page, describe: string, expected: RegExp, what: string): Promise<void> {
  let last = '';
  await until(
    async () => expected.test((last = await page.evaluate<string>(describe))),
    5000,
    () => `the focus on ${what} (it is on: ${last})`,
  );
}
