// KGS HTTP routes. Schemas are the single source of validation, types and the OpenAPI document;
// handlers only translate between HTTP and the key pool.
import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../core/http-app.ts';
import { InvalidRequest } from '../core/errors.ts';
import { MAX_CODES_PER_REQUEST, type KeyPool } from './key-pool.ts';
import { CALLER_TIMEOUT_HEADER } from '../kgs-client/types.ts';

const Problem = Type.Ref('Problem');
const problems = { 400: Problem, 401: Problem, 409: Problem, 503: Problem };
const CodeString = Type.String({ minLength: 1, maxLength: 10, pattern: '^[A-Za-z0-9_-]+$' });

export interface KgsRouteDeps {
  pool: KeyPool;
  checkToken: (authorization: string | undefined) => void;
}

export async function registerCodeRoutes(app: HttpApp, deps: KgsRouteDeps): Promise<void> {
  const { pool } = deps;
  app.addHook('onRequest', async (request) => deps.checkToken(request.headers.authorization));

  app.get(
    '/codes',
    {
      // A HEAD would take codes (the GET's handler) and send none: they would be lost to the code space.
      exposeHeadRoute: false,
      schema: {
        summary: 'Hand out unused codes',
        description:
          'Moves N codes from `available_keys` to `used_keys` atomically. May return fewer than N when the pool runs low, never none. On an empty pool it waits for a replenishment at most half of `X-Caller-Timeout-Ms` (and never longer than `KGS_EMPTY_WAIT_MS`), then answers `503`. Codes taken for a request aborted before its answer was written go back to the pool, unused.',
        security: [{ bearer: [] }],
        querystring: Type.Object(
          { count: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: `1..${MAX_CODES_PER_REQUEST}, default 1` })) },
          { additionalProperties: false },
        ),
        headers: Type.Object({
          [CALLER_TIMEOUT_HEADER]: Type.Optional(Type.String({ description: 'How long the caller waits for this answer, in ms (the KGS client sends its timeout); ignored unless a positive whole number.' })),
        }),
        response: { 200: Type.Object({ codes: Type.Array(Type.String()) }), ...problems },
      },
    },
    async (request, reply) => {
      const count = request.query.count === undefined ? 1 : Number(request.query.count);
      if (count < 1 || count > MAX_CODES_PER_REQUEST) throw new InvalidRequest(`count must be from 1 to ${MAX_CODES_PER_REQUEST}.`);
      const callerTimeout = Number(request.headers[CALLER_TIMEOUT_HEADER] ?? NaN);
      // Codes taken for a caller that has gone would be lost to the code space: they are used, and no
      // link will ever have them. The response closing before it was written says the caller left.
      const gone = new AbortController();
      let handedOut: string[] = [];
      const giveBack = (codes: string[]): void => {
        pool.returnCodes(codes, { unused: true }).then(
          (returned) => request.log.warn({ returned }, 'the caller left before its codes were sent; they went back to the pool'),
          (err: unknown) => request.log.warn({ lost: codes.length, err: (err as Error).message }, 'the caller left before its codes were sent, and they could not be returned'),
        );
      };
      let written = false;
      reply.raw.once('finish', () => {
        written = true;
      });
      reply.raw.once('close', () => {
        if (written || reply.raw.writableFinished) return;
        gone.abort();
        if (handedOut.length > 0) giveBack(handedOut);
      });
      const codes = await pool.takeCodes(count, { callerTimeoutMs: Number.isSafeInteger(callerTimeout) && callerTimeout > 0 ? callerTimeout : undefined, signal: gone.signal });
      if (gone.signal.aborted) {
        giveBack(codes);
        return { codes: [] };
      }
      handedOut = codes;
      return { codes };
    },
  );

  app.post(
    '/codes/return',
    {
      schema: {
        summary: 'Return codes to the pool',
        description:
          'Codes now in `used_keys` go back to `available_keys` after the reuse cool-down. Others are ignored. `unused: true`: the codes never served a link (a buffer given back, a creation that failed), so no old link can point at them and they skip the cool-down.',
        security: [{ bearer: [] }],
        body: Type.Object(
          { codes: Type.Array(CodeString, { minItems: 1, maxItems: MAX_CODES_PER_REQUEST }), unused: Type.Optional(Type.Boolean()) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ returned: Type.Integer() }), ...problems },
      },
    },
    async (request) => ({ returned: await pool.returnCodes(request.body.codes, { unused: request.body.unused === true }) }),
  );

  app.post(
    '/codes/claim',
    {
      schema: {
        summary: 'Claim a custom alias',
        description: 'Marks the code used so the KGS never hands it out. `409` when taken or reserved, or `alias_cooling_down` with `available_at` while a returned code waits out its cool-down.',
        security: [{ bearer: [] }],
        body: Type.Object({ code: Type.String({ maxLength: 64 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ code: Type.String() }), ...problems },
      },
    },
    async (request) => ({ code: await pool.claimCode(request.body.code) }),
  );
}
