// Visitor classification from the User-Agent header: real browser and bot strings of 2025–2026, the
// bounds on every value (length, printable ASCII, never empty), over-long and hostile input, and the
// parse cache's bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  boundedValue,
  createUserAgentClassifier,
  MAX_PARSED_LENGTH,
  UNKNOWN,
  type VisitorAgent,
} from '../../src/analytics/user-agent.ts';

const SAFARI_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15';

/** [what it is, User-Agent, expected browser, OS, device]. */
const BROWSERS: readonly (readonly [string, string, string, string, VisitorAgent['device']])[] = [
  ['Chrome on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36', 'Chrome', 'Windows', 'desktop'],
  ['Edge on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36 Edg/138.0.0.0', 'Microsoft Edge', 'Windows', 'desktop'],
  ['Firefox on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:141.0) Gecko/20100101 Firefox/141.0', 'Firefox', 'Windows', 'desktop'],
  ['Opera on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/137.0.0.0 Safari/537.36 OPR/121.0.0.0', 'Opera', 'Windows', 'desktop'],
  ['Safari on macOS', SAFARI_MAC, 'Safari', 'macOS', 'desktop'],
  ['Safari 26 on macOS', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Safari/605.1.15', 'Safari', 'macOS', 'desktop'],
  ['Chrome on an Android phone (reduced UA)', 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Mobile Safari/537.36', 'Chrome', 'Android', 'mobile'],
  ['Samsung Internet on an Android phone', 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/28.0 Chrome/130.0.0.0 Mobile Safari/537.36', 'Samsung Internet for Android', 'Android', 'mobile'],
  ['Samsung Internet on a Galaxy S24 Ultra', 'Mozilla/5.0 (Linux; Android 14; SM-S928B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36', 'Samsung Internet for Android', 'Android', 'mobile'],
  ['Safari on iPhone', 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1', 'Safari', 'iOS', 'mobile'],
  ['Safari 26 on iPhone (OS version frozen at 18_6)', 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Mobile/15E148 Safari/604.1', 'Safari', 'iOS', 'mobile'],
  ['Safari on iPad, classic (mobile) UA', 'Mozilla/5.0 (iPad; CPU OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1', 'Safari', 'iOS', 'tablet'],
  ['Chrome on an Android tablet (no "Mobile")', 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36', 'Chrome', 'Android', 'tablet'],
  ['Firefox on Linux', 'Mozilla/5.0 (X11; Linux x86_64; rv:141.0) Gecko/20100101 Firefox/141.0', 'Firefox', 'Linux', 'desktop'],
  ['Firefox on Ubuntu', 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:141.0) Gecko/20100101 Firefox/141.0', 'Firefox', 'Linux', 'desktop'],
  ['Chrome on a Chromebook', 'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36', 'Chrome', 'ChromeOS', 'desktop'],
  ['Samsung smart TV (Tizen)', 'Mozilla/5.0 (SMART-TV; LINUX; Tizen 8.0) AppleWebKit/537.36 (KHTML, like Gecko) 120.0.6099.5/8.0 TV Safari/537.36', 'Tizen', 'Tizen', 'other'],
  ['LG smart TV (webOS)', 'Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 WebAppManager', 'WebOS Browser', 'WebOS', 'other'],
];

/** [what it is, User-Agent, expected name]. */
const BOTS: readonly (readonly [string, string, string])[] = [
  ['Googlebot (desktop)', 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/138.0.7204.183 Safari/537.36', 'Googlebot'],
  ['Googlebot (smartphone)', 'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.7204.183 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'Googlebot'],
  ['bingbot', 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36', 'bingbot'],
  ['Slack unfurling a link', 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)', 'Slackbot'],
  ['Slack fetching an image', 'Slackbot 1.0 (+https://api.slack.com/robots)', 'Slackbot'],
  ['X/Twitter card', 'Twitterbot/1.0', 'Twitterbot'],
  ['Facebook, Instagram, Messenger previews', 'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)', 'facebookexternalhit'],
  ['WhatsApp preview', 'WhatsApp/2.23.20.0', 'WhatsApp'],
  ['WhatsApp preview on Android, lower case', 'whatsapp/2.2123.8 n', 'WhatsApp'],
  ['Discord embed', 'Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)', 'Discordbot'],
  ['Telegram preview', 'TelegramBot (like TwitterBot)', 'TelegramBot'],
  ['LinkedIn preview', 'LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)', 'LinkedInBot'],
  ['LinkedIn preview, lower case', 'linkedinbot/1.0 (compatible; mozilla/5.0; apache-httpclient +http://www.linkedin.com)', 'LinkedInBot'],
  ['Applebot', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)', 'Applebot'],
  ['Skype / Teams preview', 'Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com', 'SkypeUriPreview'],
  ['iMessage preview (claims three crawlers)', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0', 'iMessage'],
  ['Mastodon server fetching a preview', 'http.rb/5.2.0 (Mastodon/4.3.8; +https://mastodon.social/) Bot', 'Mastodon'],
  ['Bluesky card', 'Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)', 'Bluesky Cardyb'],
  ['GPTBot', 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)', 'GPTBot'],
  ['ClaudeBot', 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)', 'ClaudeBot'],
  ['curl', 'curl/8.14.1', 'curl'],
  ['Wget', 'Wget/1.25.0', 'Wget'],
  ['python-requests', 'python-requests/2.32.4', 'python-requests'],
  ["Node's fetch (undici)", 'node', 'node'],
  ['undici before it said "node"', 'undici', 'undici'],
  ["Go's net/http", 'Go-http-client/2.0', 'Go-http-client'],
  ['headless Chrome', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/138.0.0.0 Safari/537.36', 'HeadlessChrome'],
];

/** Every value a report may print: 1 to 40 printable ASCII characters. */
function assertBounded(agent: VisitorAgent, what: string): void {
  for (const value of [agent.bot ?? UNKNOWN, agent.browser, agent.os]) {
    assert.match(value, /^[\x20-\x7e]{1,40}$/, `${what}: ${JSON.stringify(value)}`);
  }
}

test('browsers of 2025–2026 get their browser, OS and kind of device, and are no bot', () => {
  const agents = createUserAgentClassifier();
  for (const [what, userAgent, browser, os, device] of BROWSERS) {
    assert.deepEqual(agents.classify(userAgent), { bot: null, browser, os, device }, what);
    assert.equal(agents.isBot(userAgent), false, what);
  }
});

test('an iPad asking for the desktop site (the iPadOS default) is a Mac: its User-Agent is the same string', () => {
  const agents = createUserAgentClassifier();
  assert.deepEqual(agents.classify(SAFARI_MAC), { bot: null, browser: 'Safari', os: 'macOS', device: 'desktop' });
});

test('crawlers, link unfurlers, HTTP libraries and headless browsers are bots with a short versionless name', () => {
  const agents = createUserAgentClassifier();
  for (const [what, userAgent, name] of BOTS) {
    // A bot's claimed browser and OS are not counted: Googlebot for smartphones claims Android.
    assert.deepEqual(agents.classify(userAgent), { bot: name, browser: UNKNOWN, os: UNKNOWN, device: 'bot' }, what);
    assert.equal(agents.isBot(userAgent), true, what);
  }
});

test('what isbot and bowser read wrong, pinned so that an upgrade changing it is noticed', () => {
  const agents = createUserAgentClassifier();
  // Dart's HTTP client is not in isbot's list: counted as a person whose browser is "Dart".
  assert.deepEqual(agents.classify('Dart/3.5 (dart:io)'), { bot: null, browser: 'Dart', os: UNKNOWN, device: 'other' });
  // A Sony Android TV says Android without "Mobile": bowser calls it a tablet.
  const bravia = 'Mozilla/5.0 (Linux; Android 12; BRAVIA 4K VH2 Build/STT1.211025.001.Z4) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.230 Safari/537.36';
  assert.deepEqual(agents.classify(bravia), { bot: null, browser: 'Chrome', os: 'Android', device: 'tablet' });
  // Facebook's in-app browser is Safari to bowser.
  const facebookApp = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/520.0.0.41.103;FBBV/750000000;FBDV/iPhone16,2;FBMD/iPhone;FBSN/iOS;FBSV/18.5;FBSS/3;FBCR/;FBID/phone;FBLC/en_US;FBOP/5]';
  assert.deepEqual(agents.classify(facebookApp), { bot: null, browser: 'Safari', os: 'iOS', device: 'mobile' });
});

test('a missing or empty User-Agent is no bot and tells nothing else', () => {
  const agents = createUserAgentClassifier();
  for (const userAgent of [undefined, '']) {
    assert.deepEqual(agents.classify(userAgent), { bot: null, browser: UNKNOWN, os: UNKNOWN, device: 'other' });
    assert.equal(agents.isBot(userAgent), false);
  }
  assert.equal(agents.cacheSize(), 0);
});

test('a User-Agent over 512 characters is judged by its first 512 for bot-ness only, and never cached', () => {
  const agents = createUserAgentClassifier();
  const chrome = BROWSERS[0]?.[1] ?? '';
  // 8 KB: a browser's string padded — nothing is read from it.
  const padded = `${chrome} ${'x'.repeat(8192 - chrome.length - 1)}`;
  assert.equal(padded.length, 8192);
  assert.deepEqual(agents.classify(padded), { bot: null, browser: UNKNOWN, os: UNKNOWN, device: 'other' });
  // A scanner that names itself and then sends a payload: still that bot.
  const scanner = `Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html) ${'A'.repeat(8000)}`;
  assert.deepEqual(agents.classify(scanner), { bot: 'Nmap Scripting Engine', browser: UNKNOWN, os: UNKNOWN, device: 'bot' });
  assert.equal(agents.isBot(scanner), true);
  // A bot's name beyond the first 512 characters is not looked for.
  const lateBot = `${chrome} ${'x'.repeat(MAX_PARSED_LENGTH)} Googlebot/2.1`;
  assert.equal(agents.isBot(lateBot), false);
  // Exactly 512 is still parsed (and cached).
  const atBound = `${chrome} ${' '.repeat(MAX_PARSED_LENGTH - chrome.length - 2)}x`;
  assert.equal(atBound.length, MAX_PARSED_LENGTH);
  assert.equal(agents.classify(atBound).browser, 'Chrome');
  assert.equal(agents.cacheSize(), 1, 'only the 512-character string was cached');
});

test('control characters and non-ASCII never reach a value: printable ASCII of at most 40 characters', () => {
  const agents = createUserAgentClassifier();
  // Node hands header bytes above 0x7f over as latin1 characters; they and control characters are dropped.
  const bot = agents.classify('Mozilla/5.0 (compatible; Z\u00fcrich\u0007Crawler/3.1; +https://example.ch/bot)');
  assert.equal(bot.bot, 'ZrichCrawler');
  const unknownBrowser = agents.classify('\u00dcn\u00efc\u00f6d\u00e9\u0007Br\u00f6wser/1.0 (X11; Linux x86_64)');
  assert.deepEqual(unknownBrowser, { bot: null, browser: 'ncdBrwser', os: 'Linux', device: 'desktop' });
  const chromeWithJunk = agents.classify(`${BROWSERS[0]?.[1] ?? ''} \u00e9\u0000\r\n\u001b[31m`);
  assert.deepEqual(chromeWithJunk, { bot: null, browser: 'Chrome', os: 'Windows', device: 'desktop' });
  const longName = agents.classify(`Mozilla/5.0 (compatible; ${'Very'.repeat(20)}LongCrawler/1.0)`);
  assert.equal(longName.bot, 'Very'.repeat(10));
  for (const agent of [bot, unknownBrowser, chromeWithJunk, longName]) assertBounded(agent, JSON.stringify(agent));
});

test('boundedValue drops what is not printable ASCII, folds whitespace, cuts at 40 and is never empty', () => {
  assert.equal(boundedValue('  Samsung\tInternet\r\n'), 'Samsung Internet');
  assert.equal(boundedValue('\u0000\u007f\u00e9\u{1f600}'), UNKNOWN);
  assert.equal(boundedValue(''), UNKNOWN);
  assert.equal(boundedValue('x'.repeat(100)).length, 40);
  assert.equal(boundedValue(`${'a'.repeat(39)} b`), 'a'.repeat(39), 'no trailing space after the cut');
});

test('any string at all: classify never throws, every value is bounded and isBot agrees with classify', () => {
  const agents = createUserAgentClassifier({ cacheMax: 100 });
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 700 }), fc.string({ unit: 'grapheme-ascii', maxLength: 600 })), (userAgent) => {
      const agent = agents.classify(userAgent);
      assertBounded(agent, JSON.stringify(userAgent.slice(0, 80)));
      assert.equal(agent.device === 'bot', agent.bot !== null);
      assert.equal(agents.isBot(userAgent), agent.bot !== null);
    }),
    { numRuns: 2000 },
  );
});

test('the parse cache holds at most cacheMax entries after 50,000 distinct User-Agents, and a hit answers the same', () => {
  const agents = createUserAgentClassifier();
  const first = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/0.0.0.0 Safari/537.36';
  const parsed = agents.classify(first);
  assert.equal(agents.classify(first), parsed, 'a hit returns the cached answer itself');
  for (let i = 1; i < 50_000; i += 1) {
    agents.classify(`Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${i}.0.0.0 Safari/537.36`);
    assert.ok(agents.cacheSize() <= 10_000);
  }
  assert.equal(agents.cacheSize(), 10_000);
  // Evicted long ago, parsed again: the same answer.
  assert.deepEqual(agents.classify(first), parsed);
  assert.deepEqual(parsed, { bot: null, browser: 'Chrome', os: 'Windows', device: 'desktop' });
});

test('a small cache evicts the oldest entry and keeps answering correctly', () => {
  const agents = createUserAgentClassifier({ cacheMax: 2 });
  const [chrome, firefox, safari] = [BROWSERS[0]?.[1], BROWSERS[2]?.[1], BROWSERS[4]?.[1]];
  assert.equal(agents.classify(chrome).browser, 'Chrome');
  assert.equal(agents.classify(firefox).browser, 'Firefox');
  assert.equal(agents.classify(safari).browser, 'Safari');
  assert.equal(agents.cacheSize(), 2);
  assert.equal(agents.classify(chrome).browser, 'Chrome');
  assert.equal(agents.cacheSize(), 2);
});

test('cacheMax must be a positive integer', () => {
  for (const cacheMax of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => createUserAgentClassifier({ cacheMax }), RangeError);
  }
});
