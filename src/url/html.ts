// The small HTML page a browser sees for a dead link, with the headers every HTML response carries.
import type { FastifyReply } from 'fastify';
import type { AppError } from '../core/errors.ts';
import { HTML_SECURITY_HEADERS as BASE_HEADERS } from '../core/http-app.ts';

export const HTML_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  ...BASE_HEADERS,
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

/**
 * The password form's policy: the only difference from the pages above is that a form may be
 * posted. Browsers apply form-action to the redirect that answers the post too (Chromium blocks a
 * `form-action 'self'` form whose answer is a 302 elsewhere), and the target is any http(s) URL:
 * hence `http: https:` beside 'self'. The page has no script and nothing a visitor typed, so no one
 * can point its form anywhere else.
 */
const PASSWORD_PAGE_HEADERS: Readonly<Record<string, string>> = {
  ...BASE_HEADERS,
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self' http: https:; frame-ancestors 'none'",
  'x-robots-tag': 'noindex',
};

const escape = (text: string): string =>
  text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch);

const HEADLINES: Record<string, string> = {
  link_not_found: 'This short link does not exist',
  link_expired: 'This short link has expired',
  link_used: 'This short link has been used up',
  link_disabled: 'This short link has been disabled',
};

/**
 * True when the client prefers HTML (a browser), judged by the Accept header: `text/html` (or
 * `application/xhtml+xml`) with a weight above 0 and at least that of JSON (`application/json`,
 * `application/problem+json`). `q=0` means "not this" (RFC 9110 §12.4.2); a browser sends
 * `text/html,…,*\/*;q=0.8`, curl `*\/*`, an API client JSON.
 */
export function wantsHtml(accept: string | undefined): boolean {
  if (accept === undefined || !/html/i.test(accept)) return false;
  let html = 0;
  let json = 0;
  for (const range of accept.split(',')) {
    const [type = '', ...params] = range.split(';');
    const name = type.trim().toLowerCase();
    const q = weight(params);
    if (name === 'text/html' || name === 'application/xhtml+xml') html = Math.max(html, q);
    else if (name === 'application/json' || name === 'application/problem+json') json = Math.max(json, q);
  }
  return html > 0 && html >= json;
}

/** A media range's `q` (1 when absent; 0 for anything that is not a weight). */
function weight(params: readonly string[]): number {
  for (const param of params) {
    const [key = '', value = ''] = param.split('=');
    if (key.trim().toLowerCase() !== 'q') continue;
    // RFC 9110's qvalue: 0 to 1, at most three decimals.
    const text = value.trim();
    return /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(text) ? Number(text) : 0;
  }
  return 1;
}

function page(headline: string, paragraphs: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escape(headline)} · Curt</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:15vh auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}p{color:#555}code{background:#f3f3f3;padding:0 .2em}
label{display:block;margin:1rem 0 .3rem}input{font:inherit;padding:.4rem;width:100%;box-sizing:border-box}button{font:inherit;margin-top:.8rem;padding:.4rem 1rem}.error{color:#b00020}</style>
</head><body><h1>${escape(headline)}</h1>${paragraphs}</body></html>
`;
}

export function sendErrorPage(reply: FastifyReply, error: AppError): FastifyReply {
  const headline = HEADLINES[error.code] ?? error.title;
  const body = page(headline, `<p>${escape(error.detail ?? '')}</p><p><code>${error.status}</code> · <code>${escape(error.code)}</code></p>`);
  for (const [name, value] of Object.entries({ ...error.headers, ...HTML_SECURITY_HEADERS })) reply.header(name, value);
  return reply.code(error.status).type('text/html; charset=utf-8').send(body);
}

/**
 * What a bot (a chat app's link preview, a crawler) gets for a link with a visit limit (one-time
 * too): a page that does not reveal or spend the link, so that the people it was sent to still get
 * every visit.
 */
export function sendPreviewPage(reply: FastifyReply, cacheControl: string): FastifyReply {
  const body = page('A link with limited visits', '<p>This link opens a limited number of times, for people. Open it in a web browser to follow it.</p>');
  for (const [name, value] of Object.entries(HTML_SECURITY_HEADERS)) reply.header(name, value);
  return reply.code(200).header('cache-control', cacheControl).header('x-robots-tag', 'noindex').type('text/html; charset=utf-8').send(body);
}

const PASSWORD_MESSAGES: Record<string, string> = {
  link_password_required: '',
  link_password_wrong: 'That is not the password. Try again.',
  rate_limited: 'Too many wrong passwords for now.',
};

/**
 * The form a browser gets for a link behind a password (401), again after a wrong one (401), or
 * when guesses are limited (429, with Retry-After). It posts to the page's own address (no action
 * attribute: `/{code}` and `/{code}/` alike), urlencoded, and holds no script. No WWW-Authenticate:
 * with it, a browser would show its own dialog instead of this page.
 */
/**
 * The password form. `referrer`: the origin of the page the visitor came from (referrerOrigin in
 * routes/redirect.ts), carried in a hidden field to the form's POST, which has no Referer of its own
 * (this page sends none: Referrer-Policy no-referrer), so that the click after the password counts it.
 */
export function sendPasswordPage(reply: FastifyReply, error: AppError, cacheControl: string, referrer?: string): FastifyReply {
  const message = PASSWORD_MESSAGES[error.code] ?? '';
  const retryAfter = error.headers['retry-after'];
  const wait = error.code === 'rate_limited' && retryAfter !== undefined ? ` Try again in ${retryAfter} s.` : '';
  const body = page(
    'This link is protected by a password',
    `<p>Enter the password you were given with the link to continue.</p>` +
      (message === '' ? '' : `<p class="error" role="alert">${escape(message + wait)}</p>`) +
      `<form method="post"><label for="password">Password</label>` +
      (referrer === undefined ? '' : `<input type="hidden" name="referrer" value="${escape(referrer)}">`) +
      `<input id="password" name="password" type="password" required maxlength="128" autocomplete="current-password" autofocus>` +
      `<button type="submit">Continue</button></form>`,
  );
  for (const [name, value] of Object.entries(PASSWORD_PAGE_HEADERS)) reply.header(name, value);
  if (retryAfter !== undefined) reply.header('retry-after', retryAfter);
  return reply.code(error.status).header('cache-control', cacheControl).type('text/html; charset=utf-8').send(body);
}
