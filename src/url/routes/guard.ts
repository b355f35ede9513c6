// Authentication and rate limiting for the API routes (not for redirects: those stay free of Redis
// round trips other than the cache, and scanners are absorbed by the negative cache).
import type { FastifyRequest } from 'fastify';
import { DependencyDown, RateLimited, Unauthorized } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { RateLimiter } from '../../storage/rate-limiter.ts';
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
  /** onRedisDown: what a limited call gets while the counters cannot be reached (default open). */
  limits: { perKey: number; perIp: number; onRedisDown?: 'open' | 'closed' };
  log: Logger;
}

export function createGuard(options: GuardOptions): (request: FastifyRequest) => Promise<void> {
  /** Counts one request for `subject`; throws RateLimited past the limit. */
  async function limit(request: FastifyRequest, subject: string, perMinute: number): Promise<void> {
    if (!options.limiter || perMinute === 0) return;
    let retryAfterS: number | null;
    try {
      retryAfterS = await options.limiter.hit(subject, perMinute);
    } catch (err) {
      // Redis down (or its breaker open). Open by default: refusing every API call would turn a cache
      // outage into a full one. Closed, for operators who would rather refuse than serve unlimited.
      if (options.limits.onRedisDown === 'closed') {
        throw new DependencyDown('redis', 'Rate limits cannot be checked while Redis is unavailable; try again shortly.', 2, { cause: err });
      }
      request.log.debug({ err: (err as Error).message }, 'rate limiter unavailable; allowing request');
      return;
    }
    if (retryAfterS !== null) throw new RateLimited(retryAfterS);
  }

  return async (request) => {
    let principal: Principal;
    try {
      principal = await options.apiKeys.authenticate(request.headers.authorization);
    } catch (err) {
      // A wrong key counts against the client address like any anonymous call: otherwise guessing
      // keys would be unlimited, and each guess costs a database lookup.
      if (err instanceof Unauthorized) await limit(request, `ip:${request.ip}`, options.limits.perIp);
      throw err;
    }
    request.principal = principal;
    if (principal?.isAdmin) return;
    if (principal) await limit(request, `key:${principal.keyId}`, options.limits.perKey);
    else await limit(request, `ip:${request.ip}`, options.limits.perIp);
  };
}
