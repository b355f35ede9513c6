// Authentication and rate limiting for the API routes (not for redirects: those stay free of Redis
// round trips other than the cache, and scanners are absorbed by the negative cache).
import type { FastifyRequest } from 'fastify';
import { RateLimited } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { RateLimiter } from '../../storage/redis/redis-rate-limiter.ts';
import type { ApiKeyService } from '../api-keys.ts';
import type { Principal } from '../link-service.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

export interface GuardOptions {
  apiKeys: ApiKeyService;
  limiter: RateLimiter | null;
  limits: { perKey: number; perIp: number };
  log: Logger;
}

export function createGuard(options: GuardOptions): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    const principal = await options.apiKeys.authenticate(request.headers.authorization);
    request.principal = principal;
    if (principal?.isAdmin || !options.limiter) return;
    const [subject, limit] = principal ? [`key:${principal.keyId}`, options.limits.perKey] : [`ip:${request.ip}`, options.limits.perIp];
    if (limit === 0) return;
    let retryAfterS: number | null;
    try {
      retryAfterS = await options.limiter.hit(subject, limit);
    } catch (err) {
      // Redis down: the limit fails open: refusing every API call would turn a cache outage into a full one.
      request.log.debug({ err: (err as Error).message }, 'rate limiter unavailable; allowing request');
      return;
    }
    if (retryAfterS !== null) throw new RateLimited(retryAfterS);
  };
}
