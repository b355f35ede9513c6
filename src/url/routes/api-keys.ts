// API keys: minting (admin only; the key is in the response once and nowhere else), listing and
// revoking. An admin key sees and revokes every key; any other key sees and revokes only itself.
import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../../core/http-app.ts';
import type { ApiKeyRecord } from '../../storage/link-store.ts';
import type { ApiKeyService } from '../api-keys.ts';
import { CreateKeyBody, KeyIdParams, KeyInfo, KeyList, KeyView, Problem } from './schemas.ts';

const toKeyInfo = (record: ApiKeyRecord): typeof KeyInfo.static => ({
  id: record.id,
  key_prefix: record.keyPrefix,
  name: record.name,
  is_admin: record.isAdmin,
  created_at: record.createdAt.toISOString(),
  revoked_at: record.revokedAt === null ? null : record.revokedAt.toISOString(),
});

export async function registerApiKeyRoutes(app: HttpApp, apiKeys: ApiKeyService): Promise<void> {
  const security = [{ bearer: [] }];
  app.post(
    '/api-keys',
    {
      schema: {
        summary: 'Create an API key (admin only)',
        security,
        body: CreateKeyBody,
        response: { 201: KeyView, 400: Problem, 401: Problem, 403: Problem, 429: Problem, 503: Problem },
      },
      // Every field is optional: no body at all (no Content-Type either) is a key with the defaults.
      // Only a missing body: a JSON `null` is a body that is not an object, 400 as on every route.
      preValidation: (request, _reply, done) => {
        if (request.body === undefined) request.body = {};
        done();
      },
    },
    async (request, reply) => {
      const { record, key } = await apiKeys.createKey(request.principal, { name: request.body.name ?? null, isAdmin: request.body.is_admin ?? false });
      // The key is in this answer and nowhere else: no browser or proxy cache may keep a copy of it.
      return reply.code(201).header('cache-control', 'no-store').send({ id: record.id, key, name: record.name, is_admin: record.isAdmin, created_at: record.createdAt.toISOString() });
    },
  );

  app.get(
    '/api-keys',
    {
      schema: {
        summary: 'List API keys: every key (revoked ones too) for an admin key, only itself for another key',
        security,
        response: { 200: KeyList, 401: Problem, 429: Problem, 503: Problem },
      },
    },
    async (request, reply) => {
      // Key names and prefixes: no cache may keep them, nor answer with a copy from before a revocation.
      reply.header('cache-control', 'no-store');
      return { items: (await apiKeys.listKeys(request.principal)).map(toKeyInfo) };
    },
  );

  app.delete(
    '/api-keys/:id',
    {
      schema: {
        summary: 'Revoke an API key at once, on every replica (an admin key: any key; another key: only itself); 503 if not every replica confirmed it: the key is revoked, retry',
        security,
        params: KeyIdParams,
        response: { 204: Type.Null(), 400: Problem, 401: Problem, 403: Problem, 404: Problem, 429: Problem, 503: Problem },
      },
    },
    async (request, reply) => {
      await apiKeys.revokeKey(request.principal, Number(request.params.id));
      return reply.code(204).send(null);
    },
  );
}
