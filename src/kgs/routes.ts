// KGS HTTP routes. Schemas are the single source of validation, types and the OpenAPI document;
// handlers only translate between HTTP and the key pool.
import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../core/http-app.ts';
import { InvalidRequest } from '../core/errors.ts';
import { MAX_CODES_PER_REQUEST, type KeyPool } from './key-pool.ts';

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
      schema: {
        summary: 'Hand out unused codes',
        description: 'Moves N codes from `available_keys` to `used_keys` atomically. May return fewer than N when the pool runs low, never none.',
        security: [{ bearer: [] }],
        querystring: Type.Object(
          { count: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: `1..${MAX_CODES_PER_REQUEST}, default 1` })) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ codes: Type.Array(Type.String()) }), ...problems },
      },
    },
    async (request) => {
      const count = request.query.count === undefined ? 1 : Number(request.query.count);
      if (count < 1 || count > MAX_CODES_PER_REQUEST) throw new InvalidRequest(`count must be from 1 to ${MAX_CODES_PER_REQUEST}.`);
      return { codes: await pool.takeCodes(count) };
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
