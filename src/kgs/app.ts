// Builds the KGS HTTP app from its parts; knows nothing of processes, ports or the environment.
import { Type } from '@sinclair/typebox';
import type { HttpTimeouts } from '../core/config.ts';
import { Draining, NotReady } from '../core/errors.ts';
import { createHttpApp, type HttpApp } from '../core/http-app.ts';
import type { Logger } from '../core/logger.ts';
import type { Registry } from '../core/metrics.ts';
import type { KeyPool } from './key-pool.ts';
import { registerCodeRoutes } from './routes.ts';
import { createTokenCheck } from './auth.ts';

export interface KgsAppDeps {
  pool: KeyPool;
  token: string;
  log: Logger;
  registry: Registry;
  /** Throws when the pool's store cannot be reached. */
  checkReady: () => Promise<void>;
  timeouts?: HttpTimeouts;
}

export const KGS_VERSION = '0.1.0';

export async function buildKgsApp(deps: KgsAppDeps): Promise<HttpApp> {
  const app = await createHttpApp({
    log: deps.log,
    registry: deps.registry,
    title: 'Curt Key Generation Service',
    description: 'Hands out unique short codes from a pre-generated pool. Internal: every `/codes*` call needs the service token.',
    version: KGS_VERSION,
    ...(deps.timeouts ? { timeouts: deps.timeouts } : {}),
  });

  app.get('/health', { schema: { summary: 'Liveness: the process is up', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({
    status: 'ok' as const,
  }));

  app.get(
    '/ready',
    { schema: { summary: 'Readiness: Redis answers, and the process is not stopping', response: { 200: Type.Object({ status: Type.Literal('ready'), checks: Type.Record(Type.String(), Type.String()) }), 503: Type.Ref('Problem') } } },
    async () => {
      if (app.isDraining()) throw new Draining();
      try {
        await deps.checkReady();
      } catch {
        throw new NotReady('Redis is not reachable.', { redis: 'down' });
      }
      return { status: 'ready' as const, checks: { redis: 'up' } };
    },
  );

  const checkToken = createTokenCheck(deps.token);
  await app.register(async (scope) => registerCodeRoutes(scope as HttpApp, { pool: deps.pool, checkToken }));
  return app;
}
