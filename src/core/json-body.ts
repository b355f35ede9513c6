// The JSON body parser of both services. Fastify's own (secure-json-parse, prototype keys refused)
// answered every refusal as "not valid JSON" and read any bytes as UTF-8, replacing what was not:
// a Latin-1 body's "café" was stored as "caf\uFFFD". This one says which rule the body broke, and
// stores nothing it had to guess at.
import { isUtf8 } from 'node:buffer';
import type { FastifyRequest } from 'fastify';
import { parse as secureJsonParse } from 'secure-json-parse';
import { AppError, UnsupportedMediaType } from './errors.ts';
import { EMPTY_BODY, NOT_JSON } from './problem.ts';

/** secure-json-parse's words for a body that is JSON but carries a prototype key (its only other error is JSON.parse's). */
const PROTOTYPE_KEY_MESSAGE = 'Object contains forbidden prototype property';

/** JSON is UTF-8 (RFC 8259 §8.1): a charset parameter may only say so. */
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)/i;
const UTF8 = /^utf-?8$/i;

/** An escape that may be half of a surrogate pair; only a body that has one is searched for a lone half. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
/** In a `u` regex a pair is one code point, so this matches only a lone half. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Walks the parsed body with a stack of its own: JSON.parse takes any depth, and a recursive walk
 * overflowed the call stack on 5,000 nested arrays (10 KB, well under the body limit): a 500 for
 * anyone. The stack holds at most every key and value of a body the size limit already bounds.
 */
function hasLoneSurrogate(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'string') {
      if (LONE_SURROGATE.test(item)) return true;
    } else if (typeof item === 'object' && item !== null) {
      for (const [key, child] of Object.entries(item)) pending.push(key, child);
    }
  }
  return false;
}

const refusal = (title: string, detail: string, status = 400, code: 'invalid_request' | 'malformed_json' = 'malformed_json') => new AppError({ status, code, title, detail });

/** The charset a Content-Type names when it is not UTF-8 (text is read as UTF-8 only); null when it is, or names none. */
export function otherCharset(contentType: string | undefined): string | null {
  const charset = CHARSET.exec(contentType ?? '')?.[1];
  return charset === undefined || charset === '' || UTF8.test(charset) ? null : charset;
}

/** The 415 for a body in another charset. */
export function notUtf8(charset: string, what: string): UnsupportedMediaType {
  return new UnsupportedMediaType(`${what} is read as UTF-8 only; this body says charset=${charset}. Send it as UTF-8 (charset=utf-8, or no charset).`, { title: 'The request body is not UTF-8' });
}

/** The parser for `application/json`, given the body as bytes (`parseAs: 'buffer'`). */
export function parseJsonBody(request: FastifyRequest, body: Buffer, done: (error: Error | null, value?: unknown) => void): void {
  const charset = otherCharset(request.headers['content-type']);
  if (charset !== null) {
    done(notUtf8(charset, 'JSON'));
    return;
  }
  if (body.length === 0) {
    // A route that takes no body (a DELETE) is not refused for the Content-Type a client library
    // sends with every request; one whose body has no required field (POST /api-keys) takes none as {}.
    const schema = request.routeOptions.schema?.body as { required?: unknown[] } | undefined;
    if (schema === undefined) done(null, undefined);
    else if (schema.required === undefined || schema.required.length === 0) done(null, {});
    else done(new AppError(EMPTY_BODY));
    return;
  }
  if (!isUtf8(body)) {
    done(refusal('The request body is not UTF-8', 'The request body has bytes that are not UTF-8: JSON is read as UTF-8 only.'));
    return;
  }
  const text = body.toString('utf8');
  let value: unknown;
  try {
    value = secureJsonParse(text, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    const prototypeKey = err instanceof SyntaxError && err.message === PROTOTYPE_KEY_MESSAGE;
    done(
      prototypeKey
        ? refusal('The request body has a prototype key', 'The request body has a "__proto__" key (or "constructor" with "prototype"), which no field of the API has: leave it out.', 400, 'invalid_request')
        : new AppError(NOT_JSON),
    );
    return;
  }
  if (SURROGATE_ESCAPE.test(text) && hasLoneSurrogate(value)) {
    done(refusal('The request body has half a character', 'The request body has a \\uD800–\\uDFFF escape that is not half of a pair: no text can hold it.', 400, 'invalid_request'));
    return;
  }
  done(null, value);
}
