// Authentication and rate limiting for the API routes (not for redirects: those stay free of Redis
// round trips other than the cache, and scanners are absorbed by the negative cache).
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { clientSubject } from '../../core/client-subject.ts';
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

/**
 * The API's onRequest hook. A callback, not an async function: a key held in memory (nearly every
 * request) is authenticated without a promise, and an admin key, or a request no limit applies to
 * (no limiter, or a limit of 0), passes without one at all; only a key to read, or a rate limit to
 * count in Redis, waits.
 */
export function createGuard(options: GuardOptions): (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void {
  /** Counts one request for `subject` with `limiter`; throws RateLimited past the limit. */
  async function hit(request: FastifyRequest, limiter: RateLimiter, subject: string, perMinute: number): Promise<void> {
    let retryAfterS: number | null;
    try {
      retryAfterS = await limiter.hit(subject, perMinute);
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

  /**
   * Counts one request for `subject`, then `done`: with RateLimited past the limit, else with
   * `outcome` (the error the request is refused with, or none). No limit applies (no limiter, or a
   * limit of 0): `done` at once, without a promise.
   */
  function limit(request: FastifyRequest, subject: string, perMinute: number, done: HookHandlerDoneFunction, outcome?: Error): void {
    const limiter = options.limiter;
    if (!limiter || perMinute === 0) return done(outcome);
    hit(request, limiter, subject, perMinute).then(() => done(outcome), done);
  }

  function admit(request: FastifyRequest, principal: Principal, done: HookHandlerDoneFunction): void {
    request.principal = principal;
    if (principal?.isAdmin) return done();
    if (principal) limit(request, `key:${principal.keyId}`, options.limits.perKey, done);
    else limit(request, `ip:${clientSubject(request.ip)}`, options.limits.perIp, done);
  }

  function refuse(request: FastifyRequest, err: unknown, done: HookHandlerDoneFunction): void {
    // A wrong key counts against the client (its address; an IPv6 client's /64) like any anonymous
    // call: otherwise guessing keys would be unlimited, and each guess costs a database lookup.
    if (!(err instanceof Unauthorized)) return done(err as Error);
    limit(request, `ip:${clientSubject(request.ip)}`, options.limits.perIp, done, err);
  }

  return (request, _reply, done) => {
    const authorization = request.headers.authorization;
    let known: Principal | undefined;
    try {
      known = options.apiKeys.authenticateNow(authorization);
    } catch (err) {
      return refuse(request, err, done);
    }
    if (known !== undefined) return admit(request, known, done);
    options.apiKeys.authenticate(authorization).then(
      (principal) => admit(request, principal, done),
      (err: unknown) => refuse(request, err, done),
    );
  };
}
