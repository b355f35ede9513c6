// Who clicked, from the User-Agent header: a bot's name, or a person's browser, OS and kind of device.
// isbot decides what is a bot (HTTP libraries such as curl and headless browsers included, on purpose:
// they are not people); bowser reads the rest. Every value is short, printable ASCII and never empty,
// so it can go straight into a counter's label or a table cell, whatever the client sent.
import { getParser } from 'bowser';
import { boundedMemo } from './memo.ts';
import { getPattern, isbot } from 'isbot';

export type DeviceType = 'desktop' | 'mobile' | 'tablet' | 'bot' | 'other';
export const UNKNOWN = '(unknown)';

export interface VisitorAgent {
  /** The bot's name without version ("Googlebot", "curl"), or null for a person. */
  bot: string | null;
  browser: string;
  os: string;
  device: DeviceType;
}

export interface UserAgentClassifier {
  /** Never throws. */
  classify(userAgent: string | undefined): VisitorAgent;
  /** The same answer as `classify(userAgent).bot !== null`. */
  isBot(userAgent: string | undefined): boolean;
  /** Entries in the parse cache (for tests and metrics). */
  cacheSize(): number;
}

/**
 * Longer User-Agents are not parsed: bowser's and isbot's regular expressions then only ever see
 * bounded input (bowser itself bounds some patterns because a repeated token made them quadratic),
 * and no browser sends one this long: the long ones, in-app browsers such as Facebook's, are about 250.
 */
export const MAX_PARSED_LENGTH = 512;
/** Longest value returned; longer names are cut, never rejected. */
const MAX_VALUE_LENGTH = 40;

const NO_AGENT: VisitorAgent = Object.freeze({ bot: null, browser: UNKNOWN, os: UNKNOWN, device: 'other' });

/**
 * Bots whose User-Agent names someone else. Checked first, in order.
 * - iMessage's link preview claims to be Facebook's and Twitter's crawlers at once.
 * - Mastodon servers fetch a preview with their HTTP library's name first ("http.rb/5.2.0 (Mastodon/4.3.8; …)").
 */
const IMPERSONATING_BOTS: readonly (readonly [RegExp, string])[] = [
  [/facebookexternalhit\/[\d.]+ Facebot Twitterbot\//, 'iMessage'],
  [/\(Mastodon\//, 'Mastodon'],
];

/**
 * One spelling per bot, the bot's own (keys lower case): the same crawler sends "LinkedInBot" and
 * "linkedinbot", "WhatsApp" and "whatsapp", and bowser spells some its own way ("SlackBot",
 * "FacebookExternalHit", "BingCrawler"). Without this one bot would be counted under two names.
 */
const CANONICAL_NAMES: ReadonlyMap<string, string> = new Map(
  [
    'Slackbot', 'Twitterbot', 'facebookexternalhit', 'WhatsApp', 'Discordbot', 'TelegramBot', 'LinkedInBot',
    'Googlebot', 'bingbot', 'Applebot', 'SkypeUriPreview', 'Amazonbot', 'Baiduspider', 'curl', 'Wget', 'HeadlessChrome',
  ]
    .map((name): [string, string] => [name.toLowerCase(), name])
    .concat([['bingcrawler', 'bingbot']]),
);

/** bowser's names for some systems, as their makers write them today. */
const OS_NAMES: Readonly<Record<string, string>> = {
  'Chrome OS': 'ChromeOS',
};

/**
 * Words that say "a bot" without saying which: isbot's pattern matches them alone ("bot" in a URL,
 * "http" of "+http://…"), so the word around such a match is no name.
 */
const GENERIC_WORDS = new Set(['bot', 'bots', 'http', 'https', 'www', 'com', 'mozilla', 'compatible', 'crawler', 'spider', 'preview', 'scan', 'scanner', 'agent', 'parser', 'server', 'proxy', 'monitor', 'check', 'search', 'feed', 'url']);

/** Characters of a product name: "python-requests", "Go-http-client", "http.rb", "ia_archiver". */
const NAME_CHAR = /[\w.-]/;

export function createUserAgentClassifier(options: { cacheMax?: number } = {}): UserAgentClassifier {
  // Keyed by the whole string, which is at most MAX_PARSED_LENGTH long: the cache holds at most
  // cacheMax × 512 characters.
  const parsed = boundedMemo(options.cacheMax ?? 10_000, parseUserAgent);

  function classify(userAgent: string | undefined): VisitorAgent {
    if (userAgent === undefined || userAgent === '') return NO_AGENT;
    // Not cached: 8 KB keys would let a client fill the cache with junk of its choosing.
    if (userAgent.length > MAX_PARSED_LENGTH) return classifyOverLong(userAgent);
    return parsed.get(userAgent);
  }

  return {
    classify,
    isBot: (userAgent) => classify(userAgent).bot !== null,
    cacheSize: () => parsed.size(),
  };
}

/**
 * An over-long User-Agent is judged by its first MAX_PARSED_LENGTH characters, for bot-ness only:
 * scanners and fuzzers send them (a crawler's name followed by a payload), browsers do not, so a bot
 * found in the prefix is counted as that bot rather than as a person. Everything else about it is
 * unknown: a person's browser read from a cut string would be a guess.
 */
function classifyOverLong(userAgent: string): VisitorAgent {
  const prefix = userAgent.slice(0, MAX_PARSED_LENGTH);
  if (!isbot(prefix)) return NO_AGENT;
  return botAgent(prefix);
}

/** `userAgent` is non-empty and at most MAX_PARSED_LENGTH long. */
function parseUserAgent(userAgent: string): VisitorAgent {
  if (isbot(userAgent)) return botAgent(userAgent);
  const parser = getParser(userAgent, true);
  const os = parser.getOSName();
  return Object.freeze({
    bot: null,
    // For a browser it does not know, bowser returns the text before the last "/" ahead of a "(":
    // "Dart/3.5 (dart:io)" gives "Dart", but "Foo/1.0 Bar/2.0 (…)" gives "Foo/1.0 Bar". Cut at the first
    // "/" so that no version (a new name with each release) ever becomes a browser name.
    browser: boundedValue(parser.getBrowserName().split('/', 1)[0] ?? ''),
    os: boundedValue(OS_NAMES[os] ?? os),
    device: deviceOf(parser.getPlatformType()),
  });
}

/**
 * A bot's browser and OS are left unknown: what a crawler claims is a disguise (Googlebot for
 * smartphones says Android on a Nexus 5X, Applebot says Safari on macOS), and counting it would put
 * crawlers into the browser and OS tables that are meant for people.
 */
function botAgent(userAgent: string): VisitorAgent {
  return Object.freeze({ bot: boundedValue(botName(userAgent)), browser: UNKNOWN, os: UNKNOWN, device: 'bot' });
}

/**
 * A bot's name, stable across its versions. In order: a bot that names another (table above); bowser's
 * name when bowser knows it as a bot (only then: for others bowser names the browser a bot pretends
 * to be, "Mozilla" or "Safari"); the word around the part isbot matched ("Discordbot" around "bot",
 * "HeadlessChrome" around "Headless" — isbot reports the part of its pattern that matched, not the
 * bot's name) unless that word is generic; the product in a "(compatible; Name/1.0; …)" comment; the
 * first product of the string when it is not "Mozilla". Then one spelling per bot (CANONICAL_NAMES).
 */
function botName(userAgent: string): string {
  const name = firstBotName(userAgent);
  return CANONICAL_NAMES.get(name.toLowerCase()) ?? name;
}

function firstBotName(userAgent: string): string {
  for (const [pattern, name] of IMPERSONATING_BOTS) if (pattern.test(userAgent)) return name;

  const parser = getParser(userAgent, true);
  if (parser.getPlatformType() === 'bot') {
    // bowser knows the platform of some bots it has no name for ("Mozilla" is its fallback).
    const name = parser.getBrowserName();
    if (name !== '' && !GENERIC_WORDS.has(name.toLowerCase())) return name;
  }

  const word = wordAroundMatch(userAgent);
  if (word !== null && !GENERIC_WORDS.has(word.toLowerCase())) return word;
  const compatible = /\(compatible;\s*([^;)]+)/i.exec(userAgent)?.[1];
  const named = compatible === undefined ? null : productName(compatible);
  if (named !== null) return named;
  const first = productName(userAgent);
  if (first !== null && first.toLowerCase() !== 'mozilla') return first;
  return word ?? UNKNOWN;
}

/**
 * The run of name characters around the start of isbot's match; null when the match starts on
 * punctuation ("@bsky." of an e-mail address) or the word is part of an address or path ("…/bot.html").
 */
function wordAroundMatch(userAgent: string): string | null {
  const match = getPattern().exec(userAgent);
  if (match === null || !NAME_CHAR.test(userAgent.charAt(match.index))) return null;
  let start = match.index;
  let end = match.index;
  while (start > 0 && NAME_CHAR.test(userAgent.charAt(start - 1))) start -= 1;
  while (end < userAgent.length && NAME_CHAR.test(userAgent.charAt(end))) end += 1;
  if (start > 0 && '@/:'.includes(userAgent.charAt(start - 1))) return null;
  const word = trimPunctuation(userAgent.slice(start, end));
  return word === '' ? null : word;
}

/** "Bluesky Cardyb/1.1" → "Bluesky Cardyb"; "TelegramBot (like TwitterBot)" → "TelegramBot"; a version or comment is dropped. */
function productName(text: string): string | null {
  const name = trimPunctuation(text.split(/[/(;,]/, 1)[0]?.trim() ?? '');
  if (name === '' || GENERIC_WORDS.has(name.toLowerCase())) return null;
  return name;
}

function trimPunctuation(text: string): string {
  return text.replace(/^[.\-+\s]+|[.\-+\s]+$/g, '');
}

function deviceOf(platformType: string): DeviceType {
  switch (platformType) {
    case 'desktop':
    case 'mobile':
    case 'tablet':
      return platformType;
    // tv, unknown, and bowser's "bot" for a client isbot let through: isbot alone decides what is a bot.
    default:
      return 'other';
  }
}

/** Printable ASCII only (what is left of anything else is dropped), at most MAX_VALUE_LENGTH, never empty. */
export function boundedValue(value: string): string {
  // Whitespace first, so that "Samsung\tInternet" keeps its space before the tab is dropped.
  const printable = value.replace(/\s+/g, ' ').replace(/[^\x20-\x7e]+/g, '').trim().slice(0, MAX_VALUE_LENGTH).trimEnd();
  return printable === '' ? UNKNOWN : printable;
}
