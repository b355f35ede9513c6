// The web app (src/web): its one page at `/`, at every path under `/app/` and at `/{code}+` (a link's
// stats: a code never contains `+`, so that path cannot shadow one), and its hashed files under
// `/assets/`. The redirect route stays as it is: these are routes of their own, which the router
// tells apart from `/:short_code` before any handler runs.
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { NotFound } from '../../core/errors.ts';
import { HTML_SECURITY_HEADERS, type HttpApp } from '../../core/http-app.ts';
import type { WebAsset, WebAssets } from '../web-assets.ts';

/**
 * No inline script or style, nothing from another origin (docs/web.md, "Content-Security-Policy"):
 * the API key the page keeps in sessionStorage can be read only by the app's own hashed scripts.
 */
export const WEB_APP_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/** `/{code}+`: a code as the API accepts one (CodeParams: at most 64 characters), then a `+`. */
export const STATS_PATH_PATTERN = '^[A-Za-z0-9_-]{1,64}\\+$';

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Curt</title></head><body><h1>Curt</h1>
<p>The web app is not built. Run <code>npm run build</code> (or start Curt from its sources, which builds it).</p>
<p>The API is described at <a href="/docs">/docs</a>.</p></body></html>
`;

function send(request: FastifyRequest, reply: FastifyReply, file: WebAsset): FastifyReply {
  reply.header('vary', 'accept-encoding').type(file.contentType);
  const acceptsGzip = /\bgzip\b/.test(request.headers['accept-encoding'] ?? '');
  if (file.gzip !== null && acceptsGzip) return reply.header('content-encoding', 'gzip').send(file.gzip);
  return reply.send(file.body);
}

export function registerWebAppRoutes(app: HttpApp, assets: WebAssets | null): void {
  const etag = assets === null ? '' : `"${createHash('sha256').update(assets.index.body).digest('base64url').slice(0, 22)}"`;
  const page = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.headers(HTML_SECURITY_HEADERS).header('content-security-policy', WEB_APP_CSP);
    if (assets === null) return reply.code(503).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
    // no-cache: revalidated on every load, so a new build's asset names are picked up at once.
    reply.header('cache-control', 'no-cache').header('etag', etag);
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return send(request, reply, assets.index);
  };
  const hidden = { schema: { hide: true } };
  app.get('/', hidden, page);
  app.get('/app', hidden, page);
  app.get('/app/*', hidden, page);
  app.get(`/:stats_code(${STATS_PATH_PATTERN})`, hidden, page);

  app.get<{ Params: { name: string } }>('/assets/:name', hidden, async (request, reply) => {
    const file = assets?.assets.get(request.params.name);
    if (file === undefined) throw new NotFound(`No file /assets/${request.params.name}.`);
    // Hashed names: a new build has new names, so a name's content never changes.
    reply.header('cache-control', 'public, max-age=31536000, immutable').header('x-content-type-options', 'nosniff');
    return send(request, reply, file);
  });
}
