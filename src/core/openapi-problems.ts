// The OpenAPI document's error answers as the service sends them. @fastify/swagger declares every
// response schema under application/json; every error of ours is application/problem+json
// (problem.ts, sendProblem), so a client generated from the document matched no error by its media
// type. Also the headers those answers carry: Retry-After on 429 and 503 (seconds, always),
// WWW-Authenticate on 401, Allow on 405.

const PROBLEM_REF = '#/components/schemas/Problem';
const PROBLEM_TYPE = 'application/problem+json';

interface Header {
  description: string;
  schema: Record<string, unknown>;
}

const RETRY_AFTER: Record<string, Header> = { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 1 } } };

const HEADERS_BY_STATUS: Record<string, Record<string, Header>> = {
  '401': { 'WWW-Authenticate': { description: 'How to authenticate: `Bearer` for an API key, `Basic` for a link password', schema: { type: 'string' } } },
  '405': { Allow: { description: 'The methods this path answers', schema: { type: 'string' } } },
  '429': RETRY_AFTER,
  '503': RETRY_AFTER,
};

interface Response {
  content?: Record<string, { schema?: { $ref?: string } }>;
  headers?: Record<string, unknown>;
}

/** An OpenAPI document's paths, as far as this reads them (the library's types hold every version's). */
type Paths = Record<string, Record<string, { responses?: Record<string, Response> } | undefined> | undefined>;

/** Rewrites the document in place and returns it (@fastify/swagger builds it once, then keeps it). */
export function describeProblemAnswers<T extends { paths?: unknown }>(doc: T): T {
  for (const operations of Object.values((doc.paths ?? {}) as Paths)) {
    for (const operation of Object.values(operations ?? {})) {
      for (const [status, response] of Object.entries(operation?.responses ?? {})) {
        const json = response.content?.['application/json'];
        if (json?.schema?.$ref === PROBLEM_REF && response.content !== undefined) {
          const { 'application/json': _json, ...others } = response.content;
          response.content = { [PROBLEM_TYPE]: json, ...others };
        }
        // Declared as problem+json by its route already (with an HTML page beside it), or just now.
        if (response.content?.[PROBLEM_TYPE]?.schema?.$ref !== PROBLEM_REF) continue;
        const headers = HEADERS_BY_STATUS[status];
        if (headers !== undefined) response.headers = { ...headers, ...response.headers };
      }
    }
  }
  return doc;
}
