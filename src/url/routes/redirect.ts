// GET /{short_code}: the product. Lookup and state checks live in the link service; this route only
// speaks HTTP: Location on success, an HTML page for browsers or problem+json for the rest otherwise.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, UnsupportedMediaType } from '../../core/errors.ts';
import type { FastPath, FastPathTools, HttpApp } from '../../core/http-app.ts';
import { isReservedCode } from '../../core/reserved.ts';
import { seenRequest } from '../../analytics/visitor.ts';
import { Type } from '@sinclair/typebox';
import { sendErrorPage, sendPasswordPage, sendPreviewPage, wantsHtml } from '../html.ts';
import type { LinkService } from '../link-service.ts';
import type { CachedLink } from '../../storage/link-cache.ts';
import { Problem } from './schemas.ts';

export interface RedirectRouteDeps {
  links: LinkService;
  status: 301 | 302 | 307 | 308;
  /** GEOIP_COUNTRY_HEADER, lower-case, or null: the header a click's country may come from. */
  countryHeader: string | null;
  onOutcome?: (outcome: string) => void;
  /**
   * The lookups the fast path began for requests it then left to the route, by request: the route
   * goes on from them instead of looking up again (one lookup, counted once). Shared by the two.
   */
  lookedUp: WeakMap<IncomingMessage, Promise<CachedLink>>;
}

/** `/{code}` or `/{code}/`, with any query string: what the route below matches and the fast path may answer. */
const REDIRECT_PATH = /^\/([A-Za-z0-9_-]{1,10})(\/?)(?:\?.*)?$/;

// no-store: a browser that cached the redirect would skip us, and its clicks would go uncounted.
const CACHE_CONTROL = 'private, no-store';

/**
 * The redirect without Fastify. A link this process holds in memory that redirects now is answered
 * here, synchronously; any other `/{code}` is held and looked up (Redis, then PostgreSQL), and a link
 * that redirects now is answered here too, with what the route below would send (status, Location,
 * Cache-Control, X-Request-Id) and counted as it counts (click, redirects_total, request metrics
 * under the route's pattern). Everything else — no such code, an error, a link with a visit limit or
 * a password, a dead link, a request that arrives or is answered while the app drains — goes to the
 * route, with the lookup already made; a reserved word (another route) goes to Fastify untouched.
 * docs/performance.md, "The redirect path".
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
    const click = method === 'GET' ? seenRequest(req, deps.countryHeader) : null;
    const route = match[2] === '' ? '/:short_code' : '/:short_code/';
    const location = deps.links.resolveRedirectNow(code, click, req.url);
    if (location !== undefined) {
      answerRedirect(deps, req, res, tools, location, route, startedAt);
      return true;
    }
    if (!tools.hold(req, res)) return false;
    const lookup = deps.links.lookupLink(code);
    // Once handed to the route, or answered, the request is not ours to touch again.
    let handed = false;
    const toRoute = (): void => {
      handed = true;
      deps.lookedUp.set(req, lookup);
      tools.handOff(req, res, startedAt);
    };
    // One handler for both outcomes (a failed lookup is the route's to report), and no .catch after
    // it, which would be a second promise for every cold redirect.
    const answer = (link: CachedLink | undefined): void => {
      try {
        // Draining meanwhile: the app answers, and closes the connection as a drain does.
        const target = link === undefined || tools.draining() ? undefined : deps.links.redirectNowTo(link, click, req.url);
        if (target === undefined) toRoute();
        else answerRedirect(deps, req, res, tools, target, route, startedAt);
      } catch {
        // Nothing above should throw. If something does before an answer, the route answers (and
        // reports) it, as it would have without the fast path; a half-written answer is cut off.
        try {
          if (handed || res.headersSent) {
            if (!res.writableEnded) res.destroy();
          } else toRoute();
        } catch {
          res.destroy();
        }
      }
    };
    void lookup.then(answer, () => answer(undefined));
    return true;
  };
}

function answerRedirect(deps: RedirectRouteDeps, req: IncomingMessage, res: ServerResponse, tools: FastPathTools, location: string, route: string, startedAt: number): void {
  deps.onOutcome?.('redirected');
  const requestId = tools.requestId(req);
  res.writeHead(deps.status, { location, 'cache-control': CACHE_CONTROL, 'x-request-id': requestId, 'content-length': '0' });
  res.end();
  tools.answered(req, route, deps.status, startedAt, requestId);
}

/** What a browser answers with the form: the page again, not an error page. */
const PASSWORD_OUTCOMES = new Set(['link_password_required', 'link_password_wrong', 'rate_limited']);

/**
 * The password of `Authorization: Basic base64(user:password)` (RFC 7617, UTF-8; the user name is
 * ignored), or null for no such header. Basic rather than a header of our own: every client, proxy,
 * cache and log redactor already treats Authorization as a credential (shared caches never reuse an
 * answer to it, our logs censor it), it carries any Unicode, and `curl -u :password` sends it.
 */
export function passwordFromAuthorization(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);
  if (match === null) return null;
  const decoded = Buffer.from(match[1] ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? null : decoded.slice(colon + 1);
}

const PasswordForm = Type.Object(
  {
    password: Type.Optional(Type.String({ description: 'The link\'s password' })),
    referrer: Type.Optional(
      Type.String({ description: 'The origin of the page that linked here, as the form carries it from its GET: the click counts its host as the referrer (ignored unless an http(s) URL of at most 2048 characters)' }),
    ),
  },
  { description: 'The password form, urlencoded as a browser posts it (other fields are ignored)' },
);

/** Longest referrer taken, from a Referer header or the form's field (as analytics' referrerHost). */
const MAX_REFERRER_LENGTH = 2048;

/**
 * The origin (scheme, host, port) of a referrer, or undefined for none or anything that is not an
 * http(s) URL. Only the host is counted, so only the origin travels through the password form: the
 * page the visitor came from, its path and query, are not written into ours.
 */
export function referrerOrigin(value: string | undefined): string | undefined {
  if (value === undefined || value === '' || value.length > MAX_REFERRER_LENGTH) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/** A problem+json for API clients, an HTML page for browsers (`Accept: text/html`). */
const pageOrProblem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: Problem }, 'text/html': { schema: Type.String() } },
});

/** What a redirect answers, for the OpenAPI document (the answers themselves are made above and in html.ts). */
function redirectAnswers(status: number) {
  return {
    [status]: { type: 'null', description: 'To the target, in `Location`', headers: { Location: { type: 'string', format: 'uri', description: 'The target' } } },
    200: { description: 'A bot (a link preview, a crawler) on a link with a visit limit: a small HTML page; no visit is used', content: { 'text/html': { schema: Type.String() } } },
    401: pageOrProblem('A password is needed (`link_password_required`, with `WWW-Authenticate: Basic`) or was wrong (`link_password_wrong`): browsers get the password form'),
    404: pageOrProblem('No such link (`link_not_found`)'),
    410: pageOrProblem('Expired, used up or disabled (`link_expired`, `link_used`, `link_disabled`)'),
    429: pageOrProblem('Too many wrong passwords (`rate_limited`, with `Retry-After`)'),
    503: pageOrProblem('PostgreSQL cannot be reached and the link is not cached (`postgres_unavailable`, with `Retry-After`)'),
  };
}

export async function registerRedirectRoute(app: HttpApp, deps: RedirectRouteDeps): Promise<void> {
  /**
   * The redirect, for a GET, a HEAD or the password form's POST. `form`: what the form posted; its
   * referrer, when it carries one, stands for the POST's own Referer (none: the form's page sends none).
   */
  async function answer(
    request: FastifyRequest<{ Params: { short_code: string } }>,
    reply: FastifyReply,
    password: string | null,
    status: number,
    form?: { referrer: string | undefined },
  ) {
    // The fast path's lookup, when it began one for this request (a GET or HEAD it left to us).
    const lookedUp = deps.lookedUp.get(request.raw);
    // A reserved word is another route's path, never a code (the fast path leaves it here untouched):
    // the answer is that path's 404 or 405, not "no such link". Checked only for a request the fast
    // path has not looked up: a redirect it hands on has been checked already.
    if (lookedUp === undefined && isReservedCode(request.params.short_code)) {
      reply.callNotFound();
      return reply;
    }
    try {
      const attempt = password === null ? null : { password, client: request.ip };
      const seen = request.method === 'HEAD' ? null : seenRequest(request.raw, deps.countryHeader);
      const click = seen !== null && form?.referrer !== undefined ? { ...seen, referer: form.referrer } : seen;
      // request.raw.url carries the query string a link with forward_query forwards. For the form's
      // POST it is the query of the GET that showed the form: the form has no action, so the browser
      // posts to the page's own URL, query string included.
      const result = await deps.links.resolveRedirect(request.params.short_code, click, request.raw.url, attempt, lookedUp);
      if ('preview' in result) {
        deps.onOutcome?.('preview');
        return sendPreviewPage(reply, CACHE_CONTROL);
      }
      deps.onOutcome?.('redirected');
      return reply.code(status).header('location', result.location).header('cache-control', CACHE_CONTROL).send();
    } catch (err) {
      if (err instanceof AppError) {
        deps.onOutcome?.(err.code);
        if (wantsHtml(request.headers.accept)) {
          if (!PASSWORD_OUTCOMES.has(err.code)) return sendErrorPage(reply, err);
          // The referrer the form carries on: the GET's Referer, or what the POST carried already.
          // Parsed here, for the form only: a redirect that answers does not pay for it.
          return sendPasswordPage(reply, err, CACHE_CONTROL, form === undefined ? referrerOrigin(request.headers.referer) : form.referrer);
        }
      }
      throw err;
    }
  }
  const handler = (request: FastifyRequest<{ Params: { short_code: string } }>, reply: FastifyReply) =>
    answer(request, reply, passwordFromAuthorization(request.headers.authorization), deps.status);
  app.get('/:short_code', {
    config: { reservedWordsNotFound: true },
    schema: {
      summary: 'Redirect to the original URL',
      description:
        '`HEAD` answers what a person\'s `GET` gets, without counting a click or a visit (for a bot too: the preview page below is for a bot\'s `GET`). 404 unknown; 410 expired, used (its `max_visits` reached; one-time: after one) or disabled. ' +
        'A bot (crawler, link preview, HTTP library: whatever the `isbot` package recognises in `User-Agent`) is counted as a bot hit, not a click; ' +
        'for a link with a visit limit it gets `200` with a small HTML page and uses no visit. ' +
        'Codes are case-sensitive. ' +
        "The request's query string is forwarded only for a link with `forward_query`: then `Location` is the target with the target's parameters whose name the request's query lacks, in order, " +
        "then the request's, in order (for a name in both, the request's value replaces every occurrence of the target's; names compared percent-decoded), the target's fragment last; " +
        'without a query string, or when the result would pass 2048 characters, the target as it is. Without `forward_query`, `Location` is the target as it is. ' +
        'A link with a password (`has_password`) answers only with it, sent as HTTP Basic authentication (any user name): `401 link_password_required` without it ' +
        '(browsers, `Accept: text/html`: a form that posts to `POST /{short_code}` with the same query string), `401 link_password_wrong` for a wrong one, `429` with `Retry-After` after ' +
        'too many wrong ones (10 a minute per link, 30 per client address); a `HEAD` of it is always `401`. Nothing is counted, no visit used and no preview page given before the password.',
      tags: ['redirect'],
      response: redirectAnswers(deps.status),
    },
    handler,
  });
  // A trailing slash, as some chat apps and people add: the same link, not a 404 (docs/architecture.md, "Redirect").
  app.get('/:short_code/', { config: { reservedWordsNotFound: true }, schema: { hide: true }, handler });

  // The password form's POST. Its own scope: only here is a urlencoded body parsed.
  await app.register(async (form) => {
    // A reserved word (`POST /health`) before its body is read: the path's 405 or 404, as for any
    // method the path does not answer (a body of a type this form does not read would be a 415).
    form.addHook('onRequest', (request: FastifyRequest<{ Params: { short_code: string } }>, reply, done) => {
      if (isReservedCode(request.params.short_code)) {
        reply.callNotFound();
        return;
      }
      done();
    });
    form.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      // URLSearchParams never throws: a bad escape stays as it is. The first of each field counts.
      const fields = new URLSearchParams(body as string);
      const password = fields.get('password');
      const referrer = fields.get('referrer');
      done(null, { ...(password === null ? {} : { password }), ...(referrer === null ? {} : { referrer }) });
    });
    // Any other type is refused with what this route reads (Fastify's own 415 says "must be JSON").
    form.addContentTypeParser('*', (_request, _payload, done) => {
      done(new UnsupportedMediaType('The password form is sent as application/x-www-form-urlencoded (a field named password), or as JSON {"password": …}.'));
    });
    const post = (request: FastifyRequest<{ Params: { short_code: string }; Body: { password?: string; referrer?: string } | undefined }>, reply: FastifyReply) => {
      const body = request.validationError === undefined ? request.body : undefined;
      // Always 302 here, whatever REDIRECT_STATUS says: a 307 or 308 would have the browser post the
      // password again, to the target.
      // A body that is not the form (none, another shape) is no password: the form again, not a 400.
      return answer(request, reply, typeof body?.password === 'string' ? body.password : null, 302, { referrer: referrerOrigin(body?.referrer) });
    };
    form.post('/:short_code', {
      config: { reservedWordsNotFound: true },
      attachValidation: true,
      schema: {
        summary: 'Open a password-protected link from its form',
        description:
          'What the form of `GET /{short_code}` posts (urlencoded `password`, and `referrer`: the origin of the GET\'s `Referer`, which the form carries in a hidden field): `302` to the target on the right password (a click counted, its referrer the host of `referrer`; a visit used; for a link with `forward_query`, the query string of this POST, which the form keeps from its GET, is forwarded), ' +
          'the form again with `401` on a wrong one, `429` with `Retry-After` after too many wrong ones. Answers problem+json to clients that do not accept HTML. ' +
          'A link without a password is answered as `GET` answers it (a redirect that counts its click); the password is also read from a JSON body `{"password": …}`.',
        tags: ['redirect'],
        consumes: ['application/x-www-form-urlencoded'],
        body: PasswordForm,
        response: redirectAnswers(302),
      },
      handler: post,
    });
    form.post('/:short_code/', { config: { reservedWordsNotFound: true }, attachValidation: true, schema: { hide: true, body: PasswordForm }, handler: post });
  });
}
