// Maps every failure to RFC 9457 problem+json: our AppErrors, Fastify's own errors (validation,
// malformed JSON, body too large, wrong media type) and 404s. Nothing internal reaches a client.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Type } from '@sinclair/typebox';
import { AppError, InternalError, type ErrorCode } from './errors.ts';
import { isReservedCode } from './reserved.ts';
import { requestIdOf } from './request-id.ts';
import { MAX_URL_LENGTH, validationProblem } from './validation-message.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route hands a request whose path parameter is a reserved word (src/core/reserved.ts) to the
     * not-found handler (`/:short_code` matches `/health` too): a 404 or 405 for such a path does
     * not count this route's methods among those the path answers.
     */
    reservedWordsNotFound?: boolean;
  }
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** Route schema for error responses, so the OpenAPI document shows them. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String(),
    detail: Type.Optional(Type.String()),
    request_id: Type.Optional(Type.String()),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details' },
);

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  request_id?: string;
  [extension: string]: unknown;
}

export function problemBody(error: AppError, requestId?: string): ProblemBody {
  return {
    ...error.extensions,
    type: `urn:curt:problem:${error.code}`,
    title: error.title,
    status: error.status,
    code: error.code,
    ...(error.detail === undefined ? {} : { detail: error.detail }),
    ...(requestId === undefined ? {} : { request_id: requestId }),
  };
}

export function sendProblem(reply: FastifyReply, error: AppError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.code(error.status).type(PROBLEM_CONTENT_TYPE).send(problemBody(error, String(reply.request.id)));
}

/** The body limit of both services (Fastify's bodyLimit, set in http-app.ts). */
export const BODY_LIMIT_BYTES = 16 * 1024;

/** Fastify's own client errors, by their error code. */
/** A JSON body's two refusals (src/core/json-body.ts gives them; Fastify's parser gave them before). */
export const EMPTY_BODY = { status: 400, code: 'malformed_json', title: 'The request body is empty', detail: 'The request body is empty: send a JSON object.' } as const;
export const NOT_JSON = { status: 400, code: 'malformed_json', title: 'The request body is not valid JSON', detail: 'The request body is not valid JSON.' } as const;

const FASTIFY_CLIENT_ERRORS: Record<string, { status: number; code: ErrorCode; title: string; detail?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: 'payload_too_large',
    title: 'The request body is too large',
    // The one limit a caller is likely to hit is the url's: say it here too, in the same words.
    detail: `The request body must be at most ${BODY_LIMIT_BYTES / 1024} KiB, and a url at most ${MAX_URL_LENGTH} characters.`,
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'unsupported_media_type',
    title: 'Unsupported media type',
    detail: 'The request body must be JSON, sent with Content-Type: application/json.',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_request', title: 'Invalid Content-Length', detail: 'Content-Length does not match the body.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: EMPTY_BODY,
  FST_ERR_CTP_INVALID_JSON_BODY: NOT_JSON,
  // The router's own rejections, before any route runs (see frameworkErrors in http-app.ts).
  FST_ERR_BAD_URL: { status: 400, code: 'invalid_path', title: 'The request path is not valid (bad percent-encoding)', detail: 'The request path is not valid: it has a bad percent-encoding.' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'path_too_long', title: 'A path segment is too long', detail: 'A path segment is too long.' },
  FST_ERR_ASYNC_CONSTRAINT: { status: 400, code: 'invalid_request', title: 'The request could not be routed', detail: 'The request could not be routed.' },
};

export function toAppError(error: FastifyError | Error): AppError {
  if (error instanceof AppError) return error;
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const { detail, code } = validationProblem(fastifyError.validation, fastifyError.validationContext);
    return new AppError({ status: 400, code, title: 'The request is not valid', detail });
  }
  const known = fastifyError.code === undefined ? undefined : FASTIFY_CLIENT_ERRORS[fastifyError.code];
  if (known) return new AppError({ status: known.status, code: known.code, title: known.title, detail: known.detail ?? known.title });
  // JSON.parse failures surface as SyntaxError with a 400 status.
  if (error instanceof SyntaxError || (fastifyError.statusCode === 400 && /JSON/i.test(error.message))) {
    return new AppError(NOT_JSON);
  }
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    // A plugin's own client errors (@fastify/static's, through `send`) by the code of their status, so
    // that a code always has the status the README's table gives it.
    const byStatus = CLIENT_ERRORS_BY_STATUS[status];
    if (byStatus === undefined) return new AppError({ status: 400, code: 'invalid_request', title: 'The request is not valid', detail: 'The request could not be processed.' });
    return new AppError({ status, ...byStatus, headers: status === 416 ? contentRangeOf(error) : {} });
  }
  return new InternalError({ cause: error });
}

/** A 416 says the file's length (RFC 9110 §15.5.17): `send` puts it on its error's headers. */
function contentRangeOf(error: Error): Record<string, string> {
  const headers = (error as { headers?: Record<string, unknown> }).headers ?? {};
  const range = Object.entries(headers).find(([name]) => name.toLowerCase() === 'content-range')?.[1];
  return typeof range === 'string' ? { 'content-range': range } : {};
}

const CLIENT_ERRORS_BY_STATUS: Readonly<Record<number, { code: ErrorCode; title: string; detail: string }>> = {
  403: { code: 'forbidden', title: 'Forbidden', detail: 'This path may not be read.' },
  404: { code: 'not_found', title: 'Not found', detail: 'Nothing is here.' },
  412: { code: 'precondition_failed', title: 'Precondition failed', detail: 'A condition of the request (If-Match, If-Unmodified-Since) does not hold for the file.' },
  416: { code: 'range_not_satisfiable', title: 'Range not satisfiable', detail: 'The range asked for is not within the file.' },
};

/** What a request HTTP/1.1 refuses is answered with. */
const malformed = (detail: string): AppError => new AppError({ status: 400, code: 'malformed_request', title: 'The request is not valid HTTP', detail });

/**
 * Answers a request that Node's HTTP parser rejected (broken request line, bad header, conflicting
 * framing). No route, reply or request id exists yet, so the problem goes straight onto the socket,
 * which is then closed: after a parse error the rest of the stream cannot be trusted.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const problem =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new AppError({ status: 408, code: 'request_timeout', title: 'The request took too long to arrive', detail: 'The request took too long to arrive.' })
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? new AppError({ status: 431, code: 'headers_too_large', title: 'The request headers are too large', detail: 'The request headers are too large.' })
        : error.code === 'HPE_INVALID_METHOD'
          ? // A method Node's parser does not know (RFC 9110 §9.1: 501 for a method the server does not recognise).
            new AppError({ status: 501, code: 'method_not_implemented', title: 'Method not implemented', detail: 'The request method is not one this server knows: GET, HEAD, POST, PATCH, DELETE and OPTIONS are.' })
          : malformed('The request could not be parsed as HTTP/1.1.');
  // An answer to HEAD has no content (RFC 9110 §9.3.2): a client reads none, and the body's bytes
  // broke Node's own client ("Data after Connection: close"). The request was not parsed, so its
  // method is read off the bytes the parser failed on (Node's `rawPacket`), when they begin it: a
  // head that arrived in several reads (a large one over a real network), or a HEAD pipelined after
  // another request, still gets the body.
  const rawPacket = (error as { rawPacket?: unknown }).rawPacket;
  const head = Buffer.isBuffer(rawPacket) && rawPacket.subarray(0, 5).toString('latin1') === 'HEAD ';
  answerOnSocket(socket, problem, '', head);
  socket.destroy(error);
}

/**
 * A problem written straight to the connection, which is then closed: for requests no route sees.
 * Its id, sent as every answer's is: the request's when it was parsed, else a new one.
 */
function answerOnSocket(socket: Socket, problem: AppError, headers = '', headOnly = false, requestId: string = randomUUID()): void {
  const body = JSON.stringify(problemBody(problem, requestId));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\n${headers}Connection: close\r\n\r\n${headOnly ? '' : body}`,
    );
  }
}

/**
 * CONNECT (a proxy's tunnel): Node hands it to a 'connect' listener and, without one, closes the
 * connection without a word. This service is no proxy: 405, and the connection closed. `allow`: the
 * methods the listener answers (the metrics port's are not the main port's).
 */
export function connectRefusal(allow: string): (request: IncomingMessage, socket: Socket) => void {
  const problem = new AppError({ status: 405, code: 'method_not_allowed', title: 'Method not allowed', detail: 'CONNECT is not supported: this service is not a proxy.' });
  return (request, socket) => {
    if (socket.destroyed) return;
    answerOnSocket(socket, problem, `Allow: ${allow}\r\n`, false, requestIdOf(request));
    socket.end();
  };
}

/** The main port's answer to CONNECT. */
export const answerConnect = connectRefusal('GET, HEAD, POST, PATCH, DELETE');

/**
 * What Node's parser lets through but HTTP/1.1 refuses (RFC 9112 §3.2), answered as a problem and the
 * connection closed; true when answered. An HTTP/1.1 request without Host; one with two Host or two
 * Authorization fields (repeatedHeader); a target that is not a path (`/…`), not absolute (`http://…`), or `*` other
 * than for OPTIONS (`GET *` got the web app's page). `OPTIONS *`, the server as a whole, is answered
 * with what it allows (`serverAllows`: the main port's methods unless said). Runs on every request,
 * before the fast path: a character test and one pass over the header names.
 */
export function refuseMalformed(request: IncomingMessage, response: ServerResponse, serverAllows = 'GET, HEAD, POST, PATCH, DELETE, OPTIONS'): boolean {
  let refusal: string | null = null;
  if (request.httpVersionMinor === 1 && request.httpVersionMajor === 1 && request.headers.host === undefined) refusal = 'An HTTP/1.1 request needs a Host header.';
  else {
    const repeated = repeatedHeader(request.rawHeaders);
    if (repeated !== null) refusal = `A request has one ${repeated} header, not several.`;
    else {
      const target = request.url ?? '';
      if (target.charCodeAt(0) === 47 /* / */ || /^https?:\/\//i.test(target)) return false;
      if (target === '*' && request.method === 'OPTIONS') {
        response.writeHead(204, { allow: serverAllows, 'x-request-id': requestIdOf(request) }).end();
        return true;
      }
      refusal = 'The request target must be a path (/…); * is for OPTIONS alone.';
    }
  }
  writeProblem(response, malformed(refusal), true, requestIdOf(request));
  return true;
}

/**
 * Host or Authorization named more than once in the request's header lines (Node's `rawHeaders`:
 * name, value, …), or null. Node keeps the first of each, and a proxy in front may have read the
 * last: the two would disagree on which site, or whose key.
 */
function repeatedHeader(rawHeaders: readonly string[]): 'Host' | 'Authorization' | null {
  let host = false;
  let authorization = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    if (name.length === 4 && name.toLowerCase() === 'host') {
      if (host) return 'Host';
      host = true;
    } else if (name.length === 13 && name.toLowerCase() === 'authorization') {
      if (authorization) return 'Authorization';
      authorization = true;
    }
  }
  return null;
}

/**
 * A problem as the whole answer on a bare ServerResponse (a request no route sees, the metrics port),
 * with its headers; `close`: the connection closed after it; `requestId`: sent as every answer of the
 * app sends it (header and body). Node sends no body to a HEAD.
 */
export function writeProblem(response: ServerResponse, problem: AppError, close: boolean, requestId?: string): void {
  const body = JSON.stringify(problemBody(problem, requestId));
  response
    .writeHead(problem.status, {
      ...problem.headers,
      'content-type': PROBLEM_CONTENT_TYPE,
      'content-length': Buffer.byteLength(body),
      ...(requestId === undefined ? {} : { 'x-request-id': requestId }),
      ...(close ? { connection: 'close' } : {}),
    })
    .end(body);
}

/** Node answers an `Expect` it cannot meet (anything but 100-continue) itself, with a bare 417; this is that answer as a problem. */
export function answerUnmetExpectation(request: IncomingMessage, response: ServerResponse): void {
  const problem = new AppError({ status: 417, code: 'expectation_failed', title: 'Expectation failed', detail: 'Only "Expect: 100-continue" is supported.' });
  writeProblem(response, problem, true, requestIdOf(request));
}

/**
 * The methods each route path answers, so that a request for a path with the wrong method gets 405
 * and `Allow` (RFC 9110 §15.5.6) instead of 404. Filled from Fastify's onRoute hook.
 */
export interface RouteMethods {
  /** `refusesReservedWords`: the route leaves a reserved word as its parameter to the not-found handler. */
  add(method: string | string[], url: string, refusesReservedWords?: boolean): void;
  /** The methods some route answers at this path; empty when no route matches it. */
  allowed(path: string): string[];
}

/** The path as the router reads it (`/%68ealth` is `/health`); `%2F` and the other reserved escapes stay. */
function routedPath(path: string): string {
  if (!path.includes('%')) return path;
  try {
    return decodeURI(path);
  } catch {
    return path;
  }
}

export function createRouteMethods(): RouteMethods {
  const routes: { pattern: RegExp; refusesReservedWords: boolean; methods: Set<string> }[] = [];
  const byUrl = new Map<string, Set<string>>();
  return {
    add(method, url, refusesReservedWords = false) {
      const key = `${refusesReservedWords ? 'r' : '-'}${url}`;
      let methods = byUrl.get(key);
      if (methods === undefined) {
        methods = new Set();
        byUrl.set(key, methods);
        // `:param` is one segment, never empty (an empty one is no route's: http-app.ts), `*` the rest of the path.
        const source = url
          .split(/(:[A-Za-z0-9_]+|\*)/)
          .map((part) => (part.startsWith(':') ? '([^/]+)' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
          .join('');
        routes.push({ pattern: new RegExp(`^${source}$`), refusesReservedWords, methods });
      }
      for (const m of Array.isArray(method) ? method : [method]) methods.add(m.toUpperCase());
    },
    allowed(path) {
      const routed = routedPath(path);
      const methods = new Set<string>();
      for (const route of routes) {
        const match = route.pattern.exec(routed);
        if (match === null || (route.refusesReservedWords && match.slice(1).some(isReservedCode))) continue;
        for (const m of route.methods) methods.add(m);
      }
      return [...methods].sort();
    },
  };
}

function methodNotAllowed(method: string, path: string, allowed: readonly string[]): AppError {
  return new AppError({
    status: 405,
    code: 'method_not_allowed',
    title: 'Method not allowed',
    detail: `${path} does not answer ${method}; it answers ${allowed.join(', ')}.`,
    headers: { allow: allowed.join(', ') },
  });
}

/**
 * The 404 of a path no route has. `/urls/` (a client joining a base URL and a path with one slash too
 * many) is not `/urls`: each resource has one path, and the answer says which one was likely meant.
 */
function noRoute(method: string, path: string, routeMethods: RouteMethods): AppError {
  const bare = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : null;
  const there = bare === null ? [] : routeMethods.allowed(bare);
  const detail = there.length > 0 ? `No route for ${method} ${path}; ${bare}, without the trailing slash, answers ${there.join(', ')}.` : `No route for ${method} ${path}.`;
  return new AppError({ status: 404, code: 'not_found', title: 'Not found', detail });
}

/** Answers a request no route takes: 405 with Allow when the path has routes for other methods, else 404. */
export type NoRouteAnswer = (request: FastifyRequest, reply: FastifyReply) => FastifyReply;

export function registerProblemHandlers(app: FastifyInstance): NoRouteAnswer {
  const routeMethods = createRouteMethods();
  app.addHook('onRoute', (route) => {
    const url = route.url ?? route.path;
    const refusesReservedWords = route.config?.reservedWordsNotFound === true;
    routeMethods.add(route.method, url, refusesReservedWords);
    // A plugin's `/` under a prefix (`/docs`) is served at `/docs/` too, with no onRoute of its own.
    if (route.routePath === '' && route.prefix !== '' && (route.prefixTrailingSlash ?? 'both') === 'both') routeMethods.add(route.method, `${url}/`, refusesReservedWords);
  });
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const problem = toAppError(error);
    // The client gets a generic detail; the log gets the error with its whole `cause` chain (the
    // serializer prints every cause's message and stack).
    if (problem.code === 'internal_error') request.log.error({ err: error }, 'internal error');
    // `/ready`'s 503 (a dependency down, a drain) says all in its `checks`: its stack would be noise
    // in every probe's log; the request's own line still records it.
    else if (problem.status >= 500 && problem.code !== 'not_ready') request.log.warn({ code: problem.code, err: error }, 'dependency problem');
    return sendProblem(reply, problem);
  });
  const answerNoRoute: NoRouteAnswer = (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = routeMethods.allowed(path);
    if (allowed.length > 0 && !allowed.includes(request.method)) return sendProblem(reply, methodNotAllowed(request.method, path, allowed));
    return sendProblem(reply, noRoute(request.method, path, routeMethods));
  };
  app.setNotFoundHandler(answerNoRoute);
  return answerNoRoute;
}
