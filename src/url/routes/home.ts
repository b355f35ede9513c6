// What a person who opens the server's address sees, until a web app exists: `/` says what this is
// and where the API is described; `/favicon.ico` and `/robots.txt` answer instead of looking like
// unknown short links.
import type { HttpApp } from '../../core/http-app.ts';
import { HTML_SECURITY_HEADERS } from '../html.ts';

const HOME_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Curt · URL shortener</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:12vh auto;padding:0 1rem;color:#222}h1{font-size:1.5rem}p{color:#444}code{background:#f3f3f3;padding:0 .2em}</style>
</head><body><h1>Curt</h1>
<p>This is a Curt server: a self-hosted URL shortener. Its short links redirect from here to where they point.</p>
<p>Links are created and managed over its HTTP API, described at <a href="/docs">/docs</a>, or with the <code>curt</code> command (<code>curt shorten https://example.com/</code>).</p>
</body></html>
`;

/**
 * Short links are for following, so crawlers may; the API and its docs are not pages. `$` ends a rule
 * at that exact path, so a short code that merely starts with "urls" or "docs" stays allowed.
 */
const ROBOTS_TXT = `User-agent: *
Disallow: /urls$
Disallow: /urls/
Disallow: /api-keys$
Disallow: /api-keys/
Disallow: /docs$
Disallow: /docs/
Allow: /
`;

export function registerHomeRoutes(app: HttpApp): void {
  app.get('/', { schema: { summary: 'A page saying what this server is, linking the API docs', hide: true } }, async (_request, reply) =>
    reply.headers(HTML_SECURITY_HEADERS).header('cache-control', 'public, max-age=300').type('text/html; charset=utf-8').send(HOME_PAGE),
  );
  // No icon yet: 204 stops browsers from asking again for a while and logs no 404.
  app.get('/favicon.ico', { schema: { hide: true } }, async (_request, reply) => reply.code(204).header('cache-control', 'public, max-age=86400').send());
  app.get('/robots.txt', { schema: { hide: true } }, async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=3600').type('text/plain; charset=utf-8').send(ROBOTS_TXT),
  );
}
