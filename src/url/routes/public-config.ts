// GET /api/config: what a client (the web app) needs to know of this instance before it asks anything
// else, such as whether a link can be made without an API key. Public and the same for everyone.
import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../../core/http-app.ts';

export interface PublicConfig {
  version: string;
  publicBaseUrl: string;
  allowAnonymous: boolean;
}

export const PublicConfigView = Type.Object({
  version: Type.String({ description: 'The URL service version' }),
  public_base_url: Type.String({ description: 'The start of every short URL (PUBLIC_BASE_URL)' }),
  allow_anonymous: Type.Boolean({ description: 'Whether POST /urls works without an API key (ALLOW_ANONYMOUS)' }),
});

export function registerPublicConfigRoute(app: HttpApp, config: PublicConfig): void {
  const body = { version: config.version, public_base_url: config.publicBaseUrl, allow_anonymous: config.allowAnonymous };
  app.get(
    '/api/config',
    { schema: { summary: 'What this instance allows: anonymous creation, the short URL base (public, no key)', response: { 200: PublicConfigView } } },
    async (_request, reply) => reply.header('cache-control', 'no-cache').send(body),
  );
}
