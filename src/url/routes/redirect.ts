// GET /{short_code}: the product. Lookup and state checks live in the link service; this route only
// speaks HTTP: Location on success, an HTML page for browsers or problem+json for the rest otherwise.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.ts';
import type { FastPath, HttpApp } from '../../core/http-app.ts';
import { isReservedCode } from '../../core/reserved.ts';
import { seenRequest } from '../../analytics/visitor.ts';
import { sendErrorPage, sendPreviewPage, wantsHtml } from '../html.ts';
import type { LinkService } from '../link-service.ts';

export interface RedirectRouteDeps {
  links: LinkService;
  status: 301 | 302 | 307 | 308;
  /** GEOIP_COUNTRY_HEADER, lower-case, or null: the header a click's country may come from. */
  countryHeader: string | null;
  onOutcome?: (outcome: string) => void;
}

/** `/{code}` or `/{code}/`, with any query string: what the route below matches and the fast path may answer. */
const REDIRECT_PATH = /^\/([A-Za-z0-9_-]{1,10})(\/?)(?:\?.*)?$/;

// no-store: a browser that cached the redirect would skip us, and its clicks would go uncounted.
const CACHE_CONTROL = 'private, no-store';

/**
 * The warm redirect without Fastify: a link this process holds in memory that redirects now is
 * answered here, synchronously, with what the route below would send (status, Location,
 * Cache-Control, X-Request-Id) and counted as it counts (click, redirects_total, request metrics
 * under the route's pattern). Everything else — a miss, an error, a link with a visit limit, a
 * reserved word that is another route — goes to the route. docs/performance.md, "The warm redirect".
 */
export function redirectFastPath(deps: RedirectRouteDeps): FastPath {
  return (req, res, tools) => {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') return false;
    const match = REDIRECT_PATH.exec(req.url ?? '');
    if (match === null) return false;
    const code = match[1] ?? '';
    if (isReservedCode(code)) return false;
    const startedAt = performance.now();
    // HEAD answers the same but is not a click. req.url is handed on as it is: only a link that
    // forwards its query reads the query out of it.
    const location = deps.links.resolveRedirectNow(code, method === 'GET' ? seenRequest(req, deps.countryHeader) : null, req.url);
    if (location === undefined) return false;
    deps.onOutcome?.('redirected');
    const requestId = tools.requestId(req);
    res.writeHead(deps.status, { location, 'cache-control': CACHE_CONTROL, 'x-request-id': requestId, 'content-length': '0' });
    res.end();
    tools.answered(req, match[2] === '' ? '/:short_code' : '/:short_code/', deps.status, startedAt, requestId);
    return true;
  };
}

export async function registerRedirectRoute(app: HttpApp, deps: RedirectRouteDeps): Promise<void> {
  const handler = async (request: FastifyRequest<{ Params: { short_code: string } }>, reply: FastifyReply) => {
    try {
      const answer = await deps.links.resolveRedirect(request.params.short_code, request.method === 'GET' ? seenRequest(request.raw, deps.countryHeader) : null, request.raw.url);
      if ('preview' in answer) {
        deps.onOutcome?.('preview');
        return sendPreviewPage(reply, CACHE_CONTROL);
      }
      deps.onOutcome?.('redirected');
      return reply.code(deps.status).header('location', answer.location).header('cache-control', CACHE_CONTROL).send();
    } catch (err) {
      if (err instanceof AppError) {
        deps.onOutcome?.(err.code);
        if (wantsHtml(request.headers.accept)) return sendErrorPage(reply, err);
      }
      throw err;
    }
  };
  app.get('/:short_code', {
    schema: {
      summary: 'Redirect to the original URL',
      description:
        '`HEAD` answers the same without counting a click or a visit. 404 unknown; 410 expired, used (its `max_visits` reached; one-time: after one) or disabled. ' +
        'A bot (crawler, link preview, HTTP library: whatever the `isbot` package recognises in `User-Agent`) is counted as a bot hit, not a click; ' +
        'for a link with a visit limit it gets `200` with a small HTML page and uses no visit. ' +
        'Codes are case-sensitive. ' +
        "The request's query string is forwarded only for a link with `forward_query`: then `Location` is the target with the target's parameters whose name the request's query lacks, in order, " +
        "then the request's, in order (for a name in both, the request's value replaces every occurrence of the target's; names compared percent-decoded), the target's fragment last; " +
        'without a query string, or when the result would pass 2048 characters, the target as it is. Without `forward_query`, `Location` is the target as it is.',
      tags: ['redirect'],
    },
    handler,
  });
  // A trailing slash, as some chat apps and people add: the same link, not a 404 (docs/architecture.md, "Redirect").
  app.get('/:short_code/', { schema: { hide: true }, handler });
}
