// The Fastify instance both services start from: request ids, JSON logs, problem+json errors, strict
// validation, request metrics and an OpenAPI document built from the route schemas.
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type RawServerDefault, type FastifyBaseLogger } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { HttpTimeouts, TrustProxy } from './config.ts';
import { installGracefulClose } from './graceful-close.ts';
import type { Logger } from './logger.ts';
import { createHttpMetrics, type Registry } from './metrics.ts';
import { answerClientError, answerUnmetExpectation, BODY_LIMIT_BYTES, ProblemSchema, registerProblemHandlers, sendProblem, toAppError } from './problem.ts';

export type HttpApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

export { BODY_LIMIT_BYTES };

/** Every HTML response carries these (docs/architecture.md); each page adds its own Content-Security-Policy. */
export const HTML_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

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
  "default-src 'self'; base-uri 'self'; font-src 'self' https: data:; frame-ancestors 'self'; img-src 'self' data: validator.swagger.io; object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' https:";

export async function createHttpApp(options: HttpAppOptions): Promise<HttpApp> {
  // Widened on purpose: with pino's own Logger type Fastify infers an instance type that its plugins reject.
  const loggerInstance: FastifyBaseLogger = options.log;
  const timeouts = options.timeouts ?? DEFAULT_HTTP_TIMEOUTS;
  const app = Fastify({
    // Slow clients (a trickled body, headers that never end) get 408 and lose the connection.
    http: { headersTimeout: timeouts.headersMs, requestTimeout: timeouts.requestMs, connectionsCheckingInterval: connectionsCheckingInterval(timeouts) },
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    loggerInstance,
    // One access line per request comes from our onResponse hook (with the route and latency).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    bodyLimit: BODY_LIMIT_BYTES,
    // A caller's request id is kept (so it travels URL service → KGS); anything odd is replaced.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: {
      // Unknown fields and wrong types are errors, not silently stripped or coerced.
      // verbose: errors carry their schema, so that validation-message.ts can name the allowed fields.
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false, verbose: true },
    },
    // Requests that arrive while closing are still served (see graceful-close.ts): the dependencies
    // are closed only after the app. Fastify's own 503 would be plain JSON and drop pipelined requests.
    return503OnClosing: false,
    // Requests the router rejects before any route runs (bad percent-encoding, an over-long segment)
    // get problem+json like every other error, not Fastify's own JSON.
    frameworkErrors: (error, _request, reply) => {
      void sendProblem(reply, toAppError(error));
    },
    // ...and so do requests Node's HTTP parser rejects before Fastify sees them.
    clientErrorHandler: (error, socket) => {
      loggerInstance.debug({ code: error.code }, 'malformed HTTP request');
      answerClientError(error, socket);
    },
    trustProxy: fastifyTrustProxy(options.trustProxy ?? false),
  }).withTypeProvider<TypeBoxTypeProvider>();

  const graceful = installGracefulClose(app);
  app.decorate('closeGracefully', (drainMs: number, settleMs: number) => graceful.close(drainMs, settleMs));
  registerProblemHandlers(app);
  // Fastify parses text/plain by default; every body of ours is JSON, so anything else is 415.
  app.removeContentTypeParser('text/plain');
  app.server.on('checkExpectation', answerUnmetExpectation);
  app.addSchema(ProblemSchema);

  const latency = createHttpMetrics(options.registry);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    latency.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    if (reply.statusCode >= 500) request.log.warn({ method: request.method, url: request.url, status: reply.statusCode }, 'request failed');
    else request.log.debug({ method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime }, 'request');
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: options.title, description: options.description, version: options.version },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: DOCS_CSP,
    uiHooks: {
      onRequest: (_request, reply, done) => {
        reply.headers(HTML_SECURITY_HEADERS);
        done();
      },
    },
  });
  return app;
}
