// User-Agents tests send. Bots are counted apart from clicks, and Node's fetch ("node"), undici and
// Fastify's inject ("lightMyRequest") are bots: a test that wants a click says it is a browser.
export const BROWSER_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36';
/** Headers of a request from a person's browser. */
export const PERSON = { 'user-agent': BROWSER_UA } as const;
export const PREVIEW_BOT_UA = 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)';
