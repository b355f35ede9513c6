// The check in front of a password-protected link: rate limits on wrong guesses, then the hash
// read from PostgreSQL and verified off the event loop. Nothing of HTTP: the caller says who asks.
import { clientSubject } from '../core/client-subject.ts';
import { LinkPasswordWrong, RateLimited } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { LinkStore } from '../storage/link-store.ts';
import { createMemoryRateLimiter } from '../storage/memory/memory-rate-limiter.ts';
import type { RateLimiter } from '../storage/rate-limiter.ts';
import { verifyLinkPassword } from './link-password.ts';

/** Wrong guesses allowed per window: per link (whoever guesses) and per client (whatever link; an IPv6 client by its /64). */
export interface PasswordGuessLimits {
  perLink: number;
  perClient: number;
  windowMs: number;
}

export const DEFAULT_GUESS_LIMITS: PasswordGuessLimits = { perLink: 10, perClient: 30, windowMs: 60_000 };

export interface PasswordAttempt {
  password: string;
  /** The client address (through trusted proxies only, TRUST_PROXY). */
  client: string;
}

export interface PasswordGate {
  /** Resolves when `attempt` is the password of link `linkId`; throws LinkPasswordWrong or RateLimited. */
  check(linkId: number, attempt: PasswordAttempt): Promise<void>;
}

export interface PasswordGateOptions {
  store: Pick<LinkStore, 'findPasswordHash'>;
  /** Shared by every replica (Redis), or this process's (`curt serve` without Redis). */
  limiter: RateLimiter;
  limits?: PasswordGuessLimits;
  log: Logger;
  /** The clock of the in-process fallback counter; tests fix it so that no minute turns mid-test. */
  now?: () => number;
}

export function createPasswordGate(options: PasswordGateOptions): PasswordGate {
  const limits = options.limits ?? DEFAULT_GUESS_LIMITS;
  // While Redis cannot count, each replica counts on its own: the limits then hold per replica
  // (times the replicas), never not at all, and a right password still opens the link.
  const fallback = createMemoryRateLimiter(options.now);
  let usingFallback = false;

  /** Counts one attempt; says where it was counted, so that a refund goes to the same counter. */
  async function hit(subject: string, limit: number): Promise<{ wait: number | null; counter: RateLimiter }> {
    try {
      const wait = await options.limiter.hit(subject, limit, limits.windowMs);
      usingFallback = false;
      return { wait, counter: options.limiter };
    } catch (err) {
      if (!usingFallback) options.log.warn({ err: (err as Error).message }, 'password guess limits counted in this process while the shared limiter is unavailable');
      usingFallback = true;
      return { wait: await fallback.hit(subject, limit, limits.windowMs), counter: fallback };
    }
  }

  return {
    async check(linkId, attempt) {
      const subjects: [string, number][] = [
        [`pw-link:${linkId}`, limits.perLink],
        [`pw-client:${clientSubject(attempt.client)}`, limits.perClient],
      ];
      // Every attempt is counted before it is verified and a right one is taken back afterwards: so
      // concurrent guesses cannot all slip past a check-then-count, and a link under attack refuses
      // the right password too while the window lasts (answering it would tell the guess was right).
      const hits = await Promise.all(subjects.map(([subject, limit]) => hit(subject, limit)));
      const wait = hits.reduce<number | null>((longest, h) => (h.wait === null ? longest : Math.max(longest ?? 0, h.wait)), null);
      if (wait !== null) throw new RateLimited(wait);
      const stored = await options.store.findPasswordHash(linkId);
      // The password was removed since the cache was read: the request passes as it would now.
      const right = stored === null || (await verifyLinkPassword(attempt.password, stored));
      if (!right) throw new LinkPasswordWrong();
      // Only wrong guesses are limited; a right password does not reset anything either (a known
      // password of one link must not buy guesses at another, nor a visitor's at an attacker's).
      // A refund that fails (Redis went away meanwhile) leaves one hit counted: the safe side.
      await Promise.all(hits.map(({ counter }, i) => counter.refund(subjects[i]?.[0] ?? '', limits.windowMs).catch(() => undefined)));
    },
  };
}
