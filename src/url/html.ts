// The small HTML page a browser sees for a dead link, with the headers every HTML response carries.
import type { FastifyReply } from 'fastify';
import type { AppError } from '../core/errors.ts';
import { HTML_SECURITY_HEADERS as BASE_HEADERS } from '../core/http-app.ts';

export const HTML_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  ...BASE_HEADERS,
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

const escape = (text: string): string =>
  text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch);

const HEADLINES: Record<string, string> = {
  link_not_found: 'This short link does not exist',
  link_expired: 'This short link has expired',
  link_used: 'This short link has been used up',
  link_disabled: 'This short link has been disabled',
};

/** True when the client prefers HTML (a browser), judged by the Accept header. */
export function wantsHtml(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('text/html');
}

function page(headline: string, paragraphs: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escape(headline)} · Curt</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:15vh auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}p{color:#555}code{background:#f3f3f3;padding:0 .2em}</style>
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
