// The Fastify instance both services start from: request ids, JSON logs, problem+json errors, strict
// validation, request metrics and an OpenAPI document built from the route schemas.
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type RawServerDefault, type FastifyBaseLogger } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from './logger.ts';
import { createHttpMetrics, type Registry } from './metrics.ts';
import { answerClientError, answerUnmetExpectation, BODY_LIMIT_BYTES, ProblemSchema, registerProblemHandlers, sendProblem, toAppError } from './problem.ts';

export type HttpApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

export { BODY_LIMIT_BYTES };

/** Every HTML response carries these (SPEC §5); each page adds its own Content-Security-Policy. */
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
  /** Take the client address from X-Forwarded-For (behind a trusted proxy). */
  trustProxy?: boolean;
}

export async function createHttpApp(options: HttpAppOptions): Promise<HttpApp> {
  // Widened on purpose: with pino's own Logger type Fastify infers an instance type that its plugins reject.
  const loggerInstance: FastifyBaseLogger = options.log;
  const app = Fastify({
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
    return503OnClosing: true,
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
    trustProxy: options.trustProxy ?? false,
  }).withTypeProvider<TypeBoxTypeProvider>();

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
    staticCSP: true,
    uiHooks: {
      onRequest: (_request, reply, done) => {
        reply.headers(HTML_SECURITY_HEADERS);
        done();
      },
    },
  });
  return app;
}
