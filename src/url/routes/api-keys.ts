// Admin-only: minting API keys. The key is in the response once and nowhere else.
import type { HttpApp } from '../../core/http-app.ts';
import type { ApiKeyService } from '../api-keys.ts';
import { CreateKeyBody, KeyView, Problem } from './schemas.ts';

export async function registerApiKeyRoutes(app: HttpApp, apiKeys: ApiKeyService): Promise<void> {
  app.post(
    '/api-keys',
    {
      schema: {
        summary: 'Create an API key (admin only)',
        security: [{ bearer: [] }],
        body: CreateKeyBody,
        response: { 201: KeyView, 400: Problem, 401: Problem, 403: Problem, 429: Problem, 503: Problem },
      },
    },
    async (request, reply) => {
      const { record, key } = await apiKeys.createKey(request.principal, { name: request.body.name ?? null, isAdmin: request.body.is_admin ?? false });
      return reply.code(201).send({ id: record.id, key, name: record.name, is_admin: record.isAdmin, created_at: record.createdAt.toISOString() });
    },
  );
}
