// The Fastify instance both services start from: request ids, JSON logs, problem+json errors, strict
// validation, request metrics and an OpenAPI document built from the route schemas.
import Fastify, { LogController, type FastifyInstance, type RawServerDefault, type FastifyBaseLogger } from 'fastify';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { HttpTimeouts, TrustProxy } from './config.ts';
import { installGracefulClose, type GracefulClose } from './graceful-close.ts';
import { lazyChild, type Logger } from './logger.ts';
import { createHttpMetrics, type Registry } from './metrics.ts';
import { ServerBusy, UnsupportedMediaType } from './errors.ts';
import { describeProblemAnswers } from './openapi-problems.ts';
import { parseJsonBody } from './json-body.ts';
import { requestIdOf } from './request-id.ts';
import { answerClientError, answerConnect, answerUnmetExpectation, BODY_LIMIT_BYTES, ProblemSchema, refuseMalformed, registerProblemHandlers, sendProblem, toAppError, writeProblem } from './problem.ts';

export type HttpApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

export { BODY_LIMIT_BYTES };

/** Whether a body follows the headers (RFC 9112 §6.3): a Transfer-Encoding, or a Content-Length above 0. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Whether a named path parameter is empty: the router matches `/urls/` to `/urls/:short_code` with ''
 * (and `/urls//analytics` too), and no route of ours means that. A wildcard's empty rest (`/app/`) is fine.
 */
function hasEmptyParam(params: unknown): boolean {
  const named = params as Record<string, string | undefined>;
  for (const name in named) if (named[name] === '' && name !== '*') return true;
  return false;
}

/**
 * Requests one connection may have waiting for their answers (pipelined: HTTP/1.1 answers them in
 * order, and each may wait on a lookup). Past it a request is answered 503 at once: one connection
 * sending thousands of requests in one write filled the database lookups' shared queue, and other
 * clients' lookups were refused. Browsers and proxies do not pipeline; a client that does keeps far
 * fewer in flight. The warm redirect, answered at once, never waits and is not counted.
 */
export const MAX_WAITING_PER_CONNECTION = 64;
const PIPELINE_FULL = new ServerBusy(`Too many requests are waiting on this connection (at most ${MAX_WAITING_PER_CONNECTION}); wait for their answers before sending more.`);

/** Every HTML response carries these (docs/architecture.md); each page adds its own Content-Security-Policy. */
export const HTML_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/** What a fast path needs to answer as the app would: the request id and the request metrics. */
export interface FastPathTools {
  requestId(req: IncomingMessage): string;
  /** Records the request in http_request_duration_seconds and the access log, as the onResponse hook does. */
  answered(req: IncomingMessage, route: string, status: number, startedAt: number, requestId: string): void;
  /**
   * Takes a request on for an answer that comes later, counted for the drain as the app's requests
   * are. False while the app drains, or when its connection has MAX_WAITING_PER_CONNECTION waiting:
   * then the fast path leaves the request to the server's handler (the app, or the refusal).
   */
  hold(req: IncomingMessage, res: ServerResponse): boolean;
  /**
   * A held request goes to the app after all (not counted twice). `startedAt` (performance.now()):
   * when it was taken on, so that its latency in the metrics and the log includes the time held.
   */
  handOff(req: IncomingMessage, res: ServerResponse, startedAt: number): void;
  /** True once the app drains: a held request is then answered by the app, which closes connections as it drains. */
  draining(): boolean;
}

/**
 * Answers a request before Fastify sees it, or returns false and leaves it to the app: at once, or
 * later after `hold` (then it answers, or hands the request to the app with `handOff`). For the one
 * request that must cost least (the redirect, docs/performance.md); never used while the app drains,
 * so that drain's `Connection: close` bookkeeping stays in one place.
 */
export type FastPath = (req: IncomingMessage, res: ServerResponse, tools: FastPathTools) => boolean;

export interface HttpAppOptions {
  log: Logger;
  registry: Registry;
  title: string;
  description: string;
  version: string;
  /** Which proxies may set X-Forwarded-For (see TRUST_PROXY in config.ts); default none. */
  trustProxy?: TrustProxy;
  /** Server timeouts; default: config.ts's defaults. */
  timeouts?: HttpTimeouts;
  fastPath?: FastPath;
}

export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = { requestMs: 10_000, headersMs: 5000, keepAliveMs: 65_000 };

/**
 * Node checks for expired requests and headers only every `connectionsCheckingInterval` (30 s by
 * default), which would stretch short timeouts far past what they say: check several times within
 * the shortest, at most once a second.
 */
export function connectionsCheckingInterval(timeouts: HttpTimeouts): number {
  return Math.max(50, Math.min(1000, Math.floor(timeouts.headersMs / 4)));
}

/**
 * Fastify's own trust settings, except a hop count: Fastify (>= 5.12.1) reads a number as "trust no
 * proxy", so the count is a function of the hop's position. Hop 0 is the socket's peer; trusting hops
 * 0..n-1 makes the client the address the n-th proxy saw, whatever a client put further left.
 */
export function fastifyTrustProxy(trust: TrustProxy): false | string[] | ((address: string, hop: number) => boolean) {
  if (trust === false) return false;
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return [...trust];
}

/**
 * swagger-ui's own strict CSP, minus `upgrade-insecure-requests`: over plain HTTP from another host
 * (`curt serve` on a LAN address) that directive makes the browser fetch the page's scripts and styles
 * over HTTPS, which is not there, and /docs renders blank.
 */
export const DOCS_CSP =
  "default-src 'self'; base-uri 'self'; font-src 'self' https: data:; frame-ancestors 'none'; img-src 'self' data: validator.swagger.io; object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' https:";

export async function createHttpApp(options: HttpAppOptions): Promise<HttpApp> {
  // Widened on purpose: with pino's own Logger type Fastify infers an instance type that its plugins reject.
  const loggerInstance: FastifyBaseLogger = options.log;
  const timeouts = options.timeouts ?? DEFAULT_HTTP_TIMEOUTS;
  const latency = createHttpMetrics(options.registry);
  const observe = (method: string, route: string, status: number, seconds: number): void => latency.observe(method, route, status, seconds);
  const debugEnabled = (): boolean => options.log.isLevelEnabled('debug');
  const fastPath = options.fastPath;
  let graceful: GracefulClose | null = null;
  let appHandler: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  /** Requests a fast path held before handing them to the app: when it took them on. */
  const heldSince = new WeakMap<IncomingMessage, number>();
  const tools: FastPathTools = {
    requestId: requestIdOf,
    answered(req, route, status, startedAt, requestId) {
      const ms = performance.now() - startedAt;
      observe(req.method ?? 'GET', route, status, ms / 1000);
      if (debugEnabled()) loggerInstance.debug({ request_id: requestId, method: req.method, url: req.url, status, ms }, 'request');
    },
    hold(req, res) {
      return graceful !== null && !graceful.draining() && graceful.track(req, res);
    },
    handOff(req, res, startedAt) {
      heldSince.set(req, startedAt);
      appHandler?.(req, res);
    },
    draining: () => graceful === null || graceful.draining(),
  };
  // requireHostHeader off: Node's own answer to an HTTP/1.1 request without Host is a bare 400 with
  // no body; the server below answers it as problem+json instead (refuseMalformed).
  const http = { headersTimeout: timeouts.headersMs, requestTimeout: timeouts.requestMs, connectionsCheckingInterval: connectionsCheckingInterval(timeouts), requireHostHeader: false };
  const app = Fastify({
    // Slow clients (a trickled body, headers that never end) get 408 and lose the connection.
    http,
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    // The server Fastify would make (lib/server.js), with the Host check and the fast path in front
    // of its handler.
    serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
      appHandler = handler;
      const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
        if (refuseMalformed(req, res)) return;
        if (fastPath === undefined) handler(req, res);
        else if (graceful === null || graceful.draining() || !fastPath(req, res, tools)) {
          // Past the connection's bound (MAX_WAITING_PER_CONNECTION): refused here, not counted.
          if (graceful !== null && !graceful.track(req, res)) writeProblem(res, PIPELINE_FULL, false, requestIdOf(req));
          else handler(req, res);
        }
      };
      const server = createServer(http, onRequest);
      // Expect: 100-continue. Node's own way sends "100 Continue" before any route has looked at the
      // request, so a body to be refused (too large, no key, a type no route reads) was asked for and
      // then answered 413/401/415. Here the 100 goes out when the body is first read ('resume'), and a
      // refusal comes without it (RFC 9110 §10.1.1: a server may answer with the final status instead).
      server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
        req.once('resume', () => {
          if (!res.headersSent && !res.writableEnded) res.writeContinue();
        });
        // Every 'request' listener, as Node would call them: the drain's own tracker listens there
        // when there is no fast path (the KGS).
        server.emit('request', req, res);
      });
      server.keepAliveTimeout = timeouts.keepAliveMs;
      server.requestTimeout = timeouts.requestMs;
      return server;
    },
    loggerInstance,
    // Every request's logger is bound to its request id, and made only if the request logs.
    childLoggerFactory: (logger, bindings, childOptions) => lazyChild(logger as Logger, bindings, childOptions),
    // One access line per request comes from our onResponse hook (with the route and latency).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    bodyLimit: BODY_LIMIT_BYTES,
    // A caller's request id is kept (so it travels URL service → KGS); anything odd is replaced.
    genReqId: requestIdOf,
    ajv: {
      // Unknown fields and wrong types are errors, not silently stripped or coerced.
      // verbose: errors carry their schema, so that validation-message.ts can name the allowed fields.
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false, verbose: true },
    },
    // Requests that arrive while closing are still served (see graceful-close.ts): the dependencies
    // are closed only after the app. Fastify's own 503 would be plain JSON and drop pipelined requests.
    return503OnClosing: false,
    // Requests the router rejects before any route runs (bad percent-encoding, an over-long segment)
    // get problem+json like every other error, not Fastify's own JSON. No hook runs for them, so the
    // onRequest hook's x-request-id is set here: the body's request_id and the header agree.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      void sendProblem(reply, toAppError(error));
    },
    // ...and so do requests Node's HTTP parser rejects before Fastify sees them.
    clientErrorHandler: (error, socket) => {
      loggerInstance.debug({ code: error.code }, 'malformed HTTP request');
      answerClientError(error, socket);
    },
    trustProxy: fastifyTrustProxy(options.trustProxy ?? false),
  }).withTypeProvider<TypeBoxTypeProvider>();

  const drain = installGracefulClose(app, {
    trackRequests: fastPath === undefined ? 'all' : 'by-caller',
    ...(fastPath === undefined ? {} : { maxWaitingPerConnection: MAX_WAITING_PER_CONNECTION }),
    checkingIntervalMs: http.connectionsCheckingInterval,
  });
  graceful = drain;
  app.decorate('closeGracefully', (...args: Parameters<GracefulClose['close']>) => drain.close(...args));
  app.decorate('isDraining', () => drain.draining());
  const answerNoRoute = registerProblemHandlers(app);
  // Fastify parses text/plain by default; every body of ours is JSON, so anything else is 415.
  app.removeContentTypeParser('text/plain');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parseJsonBody);
  app.server.on('checkExpectation', answerUnmetExpectation);
  app.server.on('connect', answerConnect);
  app.addSchema(ProblemSchema);

  // Hooks that never wait take a callback: an async hook costs every request a promise and a turn of
  // the microtask queue for nothing.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    // An empty segment where a route takes an id or a code is no route: 404 (or 405) as for any
    // other path, before authentication or a body are looked at, not the route's "no such link".
    if (hasEmptyParam(request.params)) {
      reply.callNotFound();
      return;
    }
    // A path or a method no route has is answered as such (404, or 405 with Allow) before its body
    // is read: Fastify's not-found route parses a body like any route, and a body that was not
    // JSON made POST /no/such/path a 400 malformed_json.
    if (request.is404) {
      answerNoRoute(request, reply);
      return;
    }
    // No route reads a compressed body: read as it is, a gzipped file was taken for CSV or JSON and
    // refused for what it seemed to say. Refused for what it is (RFC 9110 §15.5.16).
    const coding = request.headers['content-encoding'];
    const named = coding?.trim().toLowerCase() ?? '';
    if (named !== '' && named !== 'identity' && hasBody(request.raw)) {
      const detail = `Content-Encoding ${named.slice(0, 40)} is not supported: send the body uncompressed.`;
      done(new UnsupportedMediaType(detail, { headers: { 'accept-encoding': 'identity' } }));
      return;
    }
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    // Fastify's clock starts when it gets the request: for one a fast path held first, from then.
    const held = heldSince.get(request.raw);
    const ms = held === undefined ? reply.elapsedTime : performance.now() - held;
    observe(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, ms / 1000);
    if (reply.statusCode >= 500) request.log.warn({ method: request.method, url: request.url, status: reply.statusCode, ms }, 'request failed');
    else if (debugEnabled()) request.log.debug({ method: request.method, url: request.url, status: reply.statusCode, ms }, 'request');
    done();
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: options.title, description: options.description, version: options.version },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transformObject: (documents) => ('openapiObject' in documents ? describeProblemAnswers(documents.openapiObject) : documents.swaggerObject),
  });
  // The docs in a context of their own, whose hook reaches every answer under /docs: swagger-ui's
  // uiHooks reach only its own routes, not the files @fastify/static serves for it, and some of
  // those are HTML too (/docs/static/, /docs/static/oauth2-redirect.html).
  await app.register(async (docs) => {
    docs.addHook('onRequest', (_request, reply, done) => {
      reply.headers(HTML_SECURITY_HEADERS);
      done();
    });
    await docs.register(swaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CSP });
  });
  return app;
}
