// `/favicon.ico` and `/robots.txt` answer instead of looking like unknown short links. The page a
// person sees at `/` is the web app's (web-app.ts).
import type { HttpApp } from '../../core/http-app.ts';

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
Disallow: /app$
Disallow: /app/
Disallow: /api/
Allow: /
`;

export function registerSiteFileRoutes(app: HttpApp): void {
  // The web app names its own icon (an SVG under /assets); to browsers that ask for /favicon.ico
  // anyway, 204 says there is none, stops them asking again for a while and logs no 404.
  app.get('/favicon.ico', { schema: { hide: true } }, async (_request, reply) => reply.code(204).header('cache-control', 'public, max-age=86400').send());
  app.get('/robots.txt', { schema: { hide: true } }, async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=3600').type('text/plain; charset=utf-8').send(ROBOTS_TXT),
  );
}
