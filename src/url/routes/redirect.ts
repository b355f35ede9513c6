// GET /{short_code}: the product. Lookup and state checks live in the link service; this route only
// speaks HTTP: Location on success, an HTML page for browsers or problem+json for the rest otherwise.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.ts';
import type { HttpApp } from '../../core/http-app.ts';
import { sendErrorPage, wantsHtml } from '../html.ts';
import type { LinkService } from '../link-service.ts';

export interface RedirectRouteDeps {
  links: LinkService;
  status: 301 | 302 | 307 | 308;
  onOutcome?: (outcome: string) => void;
}

export async function registerRedirectRoute(app: HttpApp, deps: RedirectRouteDeps): Promise<void> {
  const handler = async (request: FastifyRequest<{ Params: { short_code: string } }>, reply: FastifyReply) => {
    try {
      const location = await deps.links.resolveRedirect(request.params.short_code, {
        // HEAD answers the same but is not a click.
        countClick: request.method === 'GET',
        referer: request.headers.referer,
      });
      deps.onOutcome?.('redirected');
      // no-store: a browser that cached the redirect would skip us, and its clicks would go uncounted.
      return reply.code(deps.status).header('location', location).header('cache-control', 'private, no-store').send();
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
        '`HEAD` answers the same without counting a click. 404 unknown; 410 expired, used (one-time) or disabled. ' +
        'Codes are case-sensitive. A query string on the short link is not forwarded: `Location` is the stored URL as it is.',
      tags: ['redirect'],
    },
    handler,
  });
  // A trailing slash, as some chat apps and people add: the same link, not a 404 (docs/architecture.md, "Redirect").
  app.get('/:short_code/', { schema: { hide: true }, handler });
}
