// Links: the design's flows, and nothing of HTTP.
//   creation = code from the KGS → PostgreSQL → Redis cache
//   lookup   = Redis → PostgreSQL on a miss → cache it → count the click
//   deletion = PostgreSQL → Redis → KGS
import {
  AppError,
  Conflict,
  DependencyDown,
  Forbidden,
  InvalidRequest,
  LinkGone,
  LinkNotFound,
  LinkPasswordRequired,
  Unauthorized,
  UNAVAILABLE_DETAIL,
} from '../core/errors.ts';
import { isPostgresUnavailable } from '../core/unavailable.ts';
import type { Logger } from '../core/logger.ts';
// CODE_SHAPE: anything that could be a code, cheaper to refuse here than to look up.
import { ALIAS_PATTERN, CODE_SHAPE, isReservedCode } from '../core/reserved.ts';
import { isStorableTime, STORABLE_RANGE } from '../core/storable-dates.ts';
import type { CodeSource, RequestContext } from '../kgs-client/types.ts';
import type { CachedLink, LinkCache } from '../storage/link-cache.ts';
import type { SeenRequest, VisitorClassifier } from '../analytics/visitor.ts';
import { CodeExists, type AnalyticsQuery, type ImportLease, type LinkAnalytics, type LinkPatch, type LinkRecord, type LinkStore, type ListOptions, type NewLink } from '../storage/link-store.ts';
import type { ClickCounter } from './click-counter.ts';
import { hashLinkPassword, isAcceptablePassword, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS } from './link-password.ts';
import { createPasswordGate, type PasswordAttempt, type PasswordGuessLimits } from './password-gate.ts';
import { createMemoryRateLimiter } from '../storage/memory/memory-rate-limiter.ts';
import type { RateLimiter } from '../storage/rate-limiter.ts';
import { normaliseTags } from './tags.ts';
import { forwardRequestQuery } from './query-forwarding.ts';
import { checkTargetUrl, normaliseTargetUrl, type TargetUrlPolicy } from './target-url.ts';
import { checkVisitLimit, visitLimitOf } from './visit-limit.ts';
import { firstKeptDay } from './expiry-sweep.ts';
import { callPromise } from '../core/call-promise.ts';

const MAX_EXPIRY_MS = 100 * 365 * 24 * 3600 * 1000;
const CODE_ATTEMPTS = 3;
/**
 * How long a change's entry (a deletion's tombstone, a new state) outlives any lookup still in
 * flight (queries time out after seconds): such a lookup fills only an absent entry.
 */
const TOMBSTONE_TTL_S = 30;

/** Who is calling: an API key, or nobody. */
export type Principal = { keyId: number; isAdmin: boolean } | null;

export interface CreateLinkInput {
  url: string;
  alias?: string;
  expiresAt?: Date;
  expiresInS?: number;
  /** The same as maxVisits 1; giving both with different meanings is an error. */
  oneTime?: boolean;
  /** 8..128 characters; only its scrypt hash is stored. */
  password?: string;
  /** Checked and normalised here (normaliseTags). */
  tags?: readonly string[];
  maxVisits?: number;
  forwardQuery?: boolean;
}

/** A change to a link: the store's patch, with the password in clear (hashed here) instead of its hash. */
export type LinkChanges = Omit<LinkPatch, 'passwordHash'> & {
  /** A string sets or replaces the password; null removes it. */
  password?: string | null;
};

export interface LinkServiceOptions {
  store: LinkStore;
  /**
   * Where the redirect's lookup reads a link the cache does not hold: a read replica that answers
   * only when it is as fresh as the primary was when the lookup began (replica-link-reads.ts).
   * Default: `store`. Everything else, a visit's count and its re-read included, reads `store`.
   */
  redirectStore?: Pick<LinkStore, 'findRedirect'>;
  cache: LinkCache;
  codes: CodeSource;
  clicks: ClickCounter;
  /** Tells bots apart, so that a limited link (one-time too) is not spent on a link preview. */
  visitors: Pick<VisitorClassifier, 'isBot'>;
  log: Logger;
  urlPolicy: TargetUrlPolicy;
  cacheTtlS: number;
  negativeCacheTtlS: number;
  allowAnonymous: boolean;
  /**
   * Counts wrong link passwords (per link, per client address): the API's limiter, shared by every
   * replica. Default: one in this process.
   */
  guessLimiter?: RateLimiter;
  guessLimits?: PasswordGuessLimits;
  now?: () => Date;
  events?: Partial<LinkServiceEvents>;
  /**
   * ANALYTICS_RETENTION_DAYS: analytics leave out days before the first one the expiry sweep keeps
   * (firstKeptDay), deleted or not yet. 0 or absent: every day.
   */
  analyticsRetentionDays?: number;
}

export interface LinkServiceEvents {
  cacheLookup: (result: 'hit' | 'miss' | 'negative_hit') => void;
  linkCreated: (kind: 'generated' | 'alias') => void;
}

export interface LinkService {
  createLink(input: CreateLinkInput, principal: Principal, context?: RequestContext): Promise<LinkRecord>;
  /**
   * Where a redirect leads. `click`: what the request showed, when it counts (a GET; null for HEAD).
   * A GET of a link with a visit limit is a visit, decided by PostgreSQL; a bot that asks for one gets
   * `preview` and does not spend it. `requestTarget`: the request's path and query as received, read
   * only for a link that forwards its query. Throws LinkNotFound / LinkGone.
   * A link with a password answers only after `password` passed the gate (rate limits, then the
   * hash): LinkPasswordRequired without one (and always for a HEAD), LinkPasswordWrong, RateLimited.
   * Nothing is counted, no visit spent and no preview given before that.
   */
  resolveRedirect(code: string, click: SeenRequest | null, requestTarget?: string, password?: PasswordAttempt | null, lookedUp?: Promise<CachedLink>): Promise<RedirectAnswer>;
  /**
   * The lookup resolveRedirect begins with (cache tiers, then PostgreSQL), counted as it counts it:
   * the link, or LinkNotFound. Handed to resolveRedirect as `lookedUp`, it is not done again.
   */
  lookupLink(code: string): Promise<CachedLink>;
  /**
   * For a looked-up link that redirects now without any other check (active, not expired, no visit
   * limit, no password): its target, with the click counted as resolveRedirect counts it;
   * `undefined` for any other, which resolveRedirect then decides.
   */
  redirectNowTo(link: CachedLink, click: SeenRequest | null, requestTarget?: string): string | undefined;
  /**
   * resolveRedirect for a link this process holds in memory and that redirects now (active, not
   * expired, without a visit limit), without a promise: its target; `undefined` for anything else,
   * which resolveRedirect then decides. Counts the click as resolveRedirect does.
   */
  resolveRedirectNow(code: string, click: SeenRequest | null, requestTarget?: string): string | undefined;
  getLink(code: string, principal: Principal): Promise<LinkRecord>;
  updateLink(code: string, patch: LinkChanges, principal: Principal): Promise<LinkRecord>;
  deleteLink(code: string, principal: Principal, context?: RequestContext): Promise<void>;
  listLinks(principal: Principal, page: Omit<ListOptions, 'ownerKeyId'>): Promise<LinkRecord[]>;
  getAnalytics(code: string, principal: Principal, query: AnalyticsQuery): Promise<{ link: LinkRecord; analytics: LinkAnalytics }>;
  /**
   * The caller's links (an admin's: every link), newest first, read a page at a time as the consumer
   * asks for them: an export of a million links holds one page in memory.
   */
  exportLinks(principal: Principal, pageSize?: number): AsyncGenerator<LinkRecord, void, undefined>;
  /**
   * For each candidate of an import, the link it would duplicate: with an alias, the link that has
   * that code (anyone's); without, the caller's oldest link to the same target URL (normalised as
   * creation does). null: none, or a URL creation will refuse anyway.
   */
  findImportMatches(principal: Principal, candidates: readonly { url: string; alias?: string }[]): Promise<(ImportMatch | null)[]>;
  /**
   * The caller's key's import lease (docs/import-export.md, "One import at a time"): `409
   * import_in_progress` while another import of the same key runs, on any replica.
   */
  startImport(principal: Principal): Promise<ImportLease>;
}

/** How long an import's lease lasts without a batch renewing it: a replica that dies mid-import frees its key after this. */
export const IMPORT_LEASE_MS = 60_000;

/** Another import of the same key runs (or held the key and took it back from this one). */
export class ImportInProgress extends AppError {
  constructor(detail = 'Another import by this API key is running. Run this file again when it ends: rows it imported then count as exists.') {
    super({ status: 409, code: 'import_in_progress', title: 'Conflict', detail, headers: { 'retry-after': '5' } });
  }
}

/** A link an import row would duplicate; `sameTarget`: its URL is the row's, normalised as creation does. */
export interface ImportMatch {
  link: LinkRecord;
  sameTarget: boolean;
}

/** A redirect to `location`, or, for a bot asking for a link with a visit limit, a page that does not spend it. */
export type RedirectAnswer = { location: string } | { preview: true };

export function toCached(link: LinkRecord): CachedLink {
  return {
    id: link.id,
    url: link.url,
    expiresAt: link.expiresAt?.getTime() ?? null,
    limited: link.maxVisits !== null,
    isActive: link.isActive,
    consumed: link.consumedAt !== null,
    forwardQuery: link.forwardQuery,
    hasPassword: link.hasPassword,
    version: link.version,
  };
}

/** A link's state as the redirect sees it, in order of precedence. */
export function goneReason(link: CachedLink, nowMs: number): 'link_disabled' | 'link_used' | 'link_expired' | null {
  if (!link.isActive) return 'link_disabled';
  if (link.consumed) return 'link_used';
  if (link.expiresAt !== null && nowMs >= link.expiresAt) return 'link_expired';
  return null;
}

/** What a creation stores of a link before it has a code. */
type LinkFields = Pick<NewLink, 'url' | 'expiresAt' | 'maxVisits' | 'forwardQuery' | 'ownerKeyId' | 'tags' | 'passwordHash'>;

/**
 * The link to insert on `code`, written out field by field. On Node 20 a spread followed by
 * properties the copy lacks (`{ ...base, code, isCustomAlias }`), once optimised, gave every object
 * a hidden class of its own: about 1 µs per added property to make it (3.2 µs per creation in a
 * microbenchmark), and every function reading those objects saw a new shape each time
 * (docs/performance.md, creation A/B: B/A 0.884).
 */
function withCode(base: LinkFields, code: string, isCustomAlias: boolean): NewLink {
  return {
    code,
    isCustomAlias,
    url: base.url,
    expiresAt: base.expiresAt,
    maxVisits: base.maxVisits,
    forwardQuery: base.forwardQuery,
    ownerKeyId: base.ownerKeyId,
    tags: base.tags,
    passwordHash: base.passwordHash,
  };
}

export function createLinkService(options: LinkServiceOptions): LinkService {
  const { store, cache, codes, clicks, log } = options;
  const redirectStore = options.redirectStore ?? store;
  const now = options.now ?? (() => new Date());
  const passwords = createPasswordGate({ store, limiter: options.guessLimiter ?? createMemoryRateLimiter(), log, ...(options.guessLimits ? { limits: options.guessLimits } : {}) });

  /** The stored form of a password given at creation or in a change: its hash, made off the event loop. */
  async function passwordHashOf(password: string): Promise<string> {
    if (!isAcceptablePassword(password)) throw new InvalidRequest(`password must be ${PASSWORD_MIN_CHARS} to ${PASSWORD_MAX_CHARS} characters.`);
    return hashLinkPassword(password);
  }

  /**
   * Only a database that cannot be reached or refuses work for now is a 503 with Retry-After; domain
   * errors pass through, and anything else (a SQL mistake, a TypeError) is a bug: passed on as it is,
   * to become a 500 `internal_error` with its cause logged, never disguised as an outage.
   */
  function db<T>(work: () => Promise<T>): Promise<T> {
    return callPromise(work).catch(dbFailure);
  }

  /** What db() rethrows for an error of the database (a promise's rejection handler: it always throws). */
  function dbFailure(err: unknown): never {
    if (err instanceof CodeExists || err instanceof AppError || !isPostgresUnavailable(err)) throw err;
    throw new DependencyDown('postgres', UNAVAILABLE_DETAIL.postgres, 1, { cause: err });
  }

  /** Never cache past the link's expiry: the entry must not outlive what it describes. */
  function ttlFor(link: CachedLink): number {
    if (link.expiresAt === null) return options.cacheTtlS;
    const left = Math.ceil((link.expiresAt - now().getTime()) / 1000);
    return Math.max(1, Math.min(options.cacheTtlS, left));
  }

  /**
   * A change's entry: ttlFor, but never shorter than a lookup in flight may take. A lookup that read
   * the row before the change fills only an absent entry, and an entry gone at the new expiry (1 s
   * after a PATCH made the link expire) let it cache the old state for CACHE_TTL_S. The redirect
   * checks the expiry itself, so the entry outliving it answers 410, not the target.
   */
  function changeTtlFor(link: CachedLink): number {
    return options.cacheTtlS === 0 ? 0 : Math.max(ttlFor(link), Math.min(options.cacheTtlS, TOMBSTONE_TTL_S));
  }

  /**
   * The cache, then PostgreSQL. Promise chains, not an async function, and db()'s mapping of errors
   * as the query's own rejection handler: a cold redirect passes here (docs/performance.md).
   */
  function lookup(code: string): Promise<CachedLink> {
    // Stamped so that a cache which lost invalidations meanwhile (Redis failed) refuses this fill.
    const readStartedAt = performance.now();
    return callPromise(() => cache.get(code)).then((cached) => {
      options.events?.cacheLookup?.(cached === undefined ? 'miss' : cached === null ? 'negative_hit' : 'hit');
      if (cached === null) throw new LinkNotFound();
      if (cached !== undefined) return cached;
      return callPromise(() => redirectStore.findRedirect(code)).then((link) => {
        // Fills are not awaited: the answer is known, a fill never throws (the port's promise), and
        // the redirect need not wait a Redis round trip for it.
        if (!link) {
          void cache.setMissing(code, options.negativeCacheTtlS, { readStartedAt });
          throw new LinkNotFound();
        }
        // ifAbsent: an update or a deletion that ran while we read PostgreSQL has written a newer
        // state; overwriting it with what we read would bring a deleted or disabled link back until
        // the TTL ends.
        void cache.set(code, link, ttlFor(link), { ifAbsent: true, readStartedAt });
        return link;
      }, dbFailure);
    });
  }

  function lookupLink(code: string): Promise<CachedLink> {
    return CODE_SHAPE.test(code) ? lookup(code) : Promise.reject(new LinkNotFound());
  }

  /**
   * A link that redirects with no check but its state (not a limited link, decided in PostgreSQL, nor
   * one behind a password, whose check is resolveRedirect's, nor a dead one): its target, the click
   * counted. `undefined` for any other.
   */
  function redirectNowTo(link: CachedLink, click: SeenRequest | null, requestTarget?: string): string | undefined {
    if (link.limited || link.hasPassword || goneReason(link, now().getTime()) !== null) return undefined;
    return redirectTo(link, click, requestTarget);
  }

  /** Where a redirect that passed its checks leads; the click counted when it is one. */
  function redirectTo(link: CachedLink, click: SeenRequest | null, requestTarget: string | undefined): string {
    if (click !== null) clicks.record(link.id, click);
    // The one test a link without forwarding pays: no query is looked for, nothing allocated.
    return link.forwardQuery && requestTarget !== undefined ? forwardRequestQuery(link.url, requestTarget) : link.url;
  }

  /**
   * A person's visit of a limited link: PostgreSQL's conditional UPDATE alone lets it through, never
   * a cache. Returns the link as the visit left it; throws LinkGone when no visit was left for it.
   */
  async function spendVisit(code: string, link: CachedLink, nowMs: number): Promise<CachedLink> {
    const counted = await db(() => store.countVisit(link.id, new Date(nowMs)));
    if (counted !== null) {
      const after = toCached(counted);
      // The visit that used the link up tells every replica, through the shared cache.
      if (after.consumed) await cache.set(code, after, changeTtlFor(after), { afterVisit: true });
      return after;
    }
    // Refused: used up (or disabled, expired, deleted) since the cache was read. The row as it is now
    // says which, and replaces the entry that let this request come this far.
    const record = await db(() => store.findByCode(code));
    if (record === null || record.id !== link.id) throw new LinkNotFound();
    const current = toCached(record);
    const reason = goneReason(current, nowMs);
    if (reason !== null) await cache.set(code, current, changeTtlFor(current), { afterVisit: true });
    // No reason: the limit was raised after this visit was refused; it had none left when decided.
    throw new LinkGone(reason ?? 'link_used');
  }

  async function findOwned(code: string, principal: Principal, access: 'read' | 'manage'): Promise<LinkRecord> {
    if (!CODE_SHAPE.test(code)) throw new LinkNotFound();
    const link = await db(() => store.findByCode(code));
    // Anonymous links are public to read (their code is their only secret); managing them is for
    // admins. One with a password is read by admins only: its view names the target the password keeps.
    if (link && link.ownerKeyId === null) {
      if ((access === 'read' && !link.hasPassword) || principal?.isAdmin) return link;
      const detail = access === 'read' ? 'This link has a password: only an admin key can read it.' : 'Only an admin key can change or delete an anonymous link.';
      if (principal === null) throw new Unauthorized(access === 'read' ? detail : 'An API key is required.');
      throw new Forbidden(detail);
    }
    // Without a key: a code that does not exist is 404, as its redirect already tells anyone; an owned
    // link is 401, as the redirect (302, 410) tells anyone it exists. Nothing new is revealed, and
    // `curt stats` of a mistyped code says so instead of asking for a key. docs/architecture.md, "Analytics".
    if (principal === null) throw link ? new Unauthorized('An API key is required.') : new LinkNotFound();
    if (!link || (!principal.isAdmin && link.ownerKeyId !== principal.keyId)) throw new LinkNotFound();
    return link;
  }

  function resolveExpiry(input: CreateLinkInput): Date | null {
    if (input.expiresAt !== undefined && input.expiresInS !== undefined) {
      throw new InvalidRequest('Give expires_at or expires_in, not both.');
    }
    const at = input.expiresAt ?? (input.expiresInS === undefined ? null : new Date(now().getTime() + input.expiresInS * 1000));
    if (at === null) return null;
    if (Number.isNaN(at.getTime())) throw new InvalidRequest('expires_at must be an ISO 8601 date-time.', 'invalid_expiry');
    if (at.getTime() <= now().getTime()) throw new InvalidRequest('The expiry must be in the future.', 'invalid_expiry');
    if (at.getTime() - now().getTime() > MAX_EXPIRY_MS) throw new InvalidRequest('The expiry must be within 100 years.', 'invalid_expiry');
    return at;
  }

  async function insertWithGeneratedCode(
    base: LinkFields,
    context?: RequestContext,
  ): Promise<LinkRecord> {
    for (let attempt = 1; ; attempt++) {
      const code = await codes.takeCode(context);
      try {
        return await db(() => store.insert(withCode(base, code, false)));
      } catch (err) {
        // The KGS and PostgreSQL disagree (e.g. Redis lost its sets): skip the code, take another.
        if (err instanceof CodeExists && attempt < CODE_ATTEMPTS) {
          log.error({ code }, 'KGS handed out a code that is already in PostgreSQL');
          continue;
        }
        if (!(err instanceof CodeExists)) {
          // PostgreSQL is down: give the code back rather than leak it; no link has it, so at once.
          codes.returnCodes([code], context, { unused: true }).catch(() => undefined);
        }
        throw err instanceof CodeExists ? new DependencyDown('kgs', 'Could not find a free code; try again.', 1) : err;
      }
    }
  }

  /**
   * Frees a claimed alias that no link has, in the background: the caller's answer does not wait.
   * `unlessLinked`: the claim's answer was lost, so the KGS may have refused it because a live link
   * has the alias; that alias must stay claimed, or the KGS would hand it out as a generated code.
   */
  function releaseUnusedAlias(alias: string, context: RequestContext | undefined, options: { unlessLinked: boolean }): void {
    const release = async (): Promise<void> => {
      if (options.unlessLinked && (await store.findByCode(alias)) !== null) return;
      await codes.returnCodes([alias], context, { unused: true });
    };
    release().catch((returnErr: unknown) => log.warn({ code: alias, err: (returnErr as Error).message }, 'could not release the alias of a failed creation'));
  }

  return {
    async createLink(input, principal, context) {
      if (principal === null && !options.allowAnonymous) throw new Unauthorized('An API key is required to create links.');
      const url = await checkTargetUrl(input.url, options.urlPolicy);
      const expiresAt = resolveExpiry(input);
      const passwordHash = input.password === undefined ? null : await passwordHashOf(input.password);
      const tags = normaliseTags(input.tags ?? []);
      const base: LinkFields = { url, expiresAt, maxVisits: visitLimitOf(input), forwardQuery: input.forwardQuery ?? false, ownerKeyId: principal?.keyId ?? null, tags, passwordHash };
      let record: LinkRecord;
      if (input.alias !== undefined) {
        const alias = input.alias;
        if (!ALIAS_PATTERN.test(alias)) throw new InvalidRequest('alias must be 3 to 10 characters of A-Z a-z 0-9 _ -.', 'invalid_alias');
        if (isReservedCode(alias)) throw new Conflict('alias_reserved', `"${alias}" is a reserved word.`);
        try {
          await codes.claimCode(alias, context);
        } catch (err) {
          // An answer (taken, reserved, invalid) is final. Anything else (a timeout, a reset) leaves the
          // claim's fate unknown: if it landed, no link will ever have the alias, and every retry would
          // hear alias_taken. It is given back unless a link has it (then the KGS may have refused it as
          // taken, and it must stay claimed); PostgreSQL's unique index, not the KGS, decides who has a
          // code (docs/architecture.md, "Creation").
          if (!(err instanceof Conflict || err instanceof InvalidRequest)) releaseUnusedAlias(alias, context, { unlessLinked: true });
          throw err;
        }
        try {
          record = await db(() => store.insert(withCode(base, alias, true)));
        } catch (err) {
          if (err instanceof CodeExists) throw new Conflict('alias_taken', `"${alias}" is already taken.`);
          // No link has the alias (PostgreSQL failed): release the claim, or a retry would find it taken.
          // Should the insert still land after its timeout, the unique index refuses anyone else's.
          releaseUnusedAlias(alias, context, { unlessLinked: false });
          throw err;
        }
      } else {
        record = await insertWithGeneratedCode(base, context);
      }
      const cached = toCached(record);
      // No floor here: a lookup in flight read no row, and fills "no such code" only over no entry; past
      // a short expiry its 404 instead of 410 is all it could leave.
      await cache.set(record.code, cached, ttlFor(cached), { created: true });
      options.events?.linkCreated?.(record.isCustomAlias ? 'alias' : 'generated');
      return record;
    },

    async resolveRedirect(code, click, requestTarget, password, lookedUp) {
      const link = await (lookedUp ?? lookupLink(code));
      const nowMs = now().getTime();
      const reason = goneReason(link, nowMs);
      if (reason) throw new LinkGone(reason);
      if (link.hasPassword) {
        // Before anything is counted, consumed or previewed, from whatever tier the entry came. A HEAD
        // never checks one: it is no visit, and a check costs a hash. A bot gets the check too, not the
        // preview page: the preview would tell it nothing it may see.
        if (click === null || password == null) throw new LinkPasswordRequired();
        await db(() => passwords.check(link.id, password));
      }
      if (link.limited && click !== null) {
        // A link preview (Slack, WhatsApp...) fetches a link before the person it was sent to does:
        // it gets a page, counted as a bot hit, and the person still gets the visit.
        if (options.visitors.isBot(click.userAgent)) {
          clicks.record(link.id, click);
          return { preview: true };
        }
        return { location: redirectTo(await spendVisit(code, link, nowMs), click, requestTarget) };
      }
      return { location: redirectTo(link, click, requestTarget) };
    },

    resolveRedirectNow(code, click, requestTarget) {
      const link = cache.peek?.(code);
      const target = link == null ? undefined : redirectNowTo(link, click, requestTarget);
      // Counted only when answered here: a held entry that needs the full path is counted there.
      if (target !== undefined) options.events?.cacheLookup?.('hit');
      return target;
    },

    lookupLink,
    redirectNowTo,

    getLink: (code, principal) => findOwned(code, principal, 'read'),

    async updateLink(code, patch, principal) {
      // The write targets the row that was checked: a link that took the code meanwhile is not ours.
      const owned = await findOwned(code, principal, 'manage');
      if (patch.expiresAt != null && patch.expiresAt.getTime() - now().getTime() > MAX_EXPIRY_MS) {
        throw new InvalidRequest('The expiry must be within 100 years.', 'invalid_expiry');
      }
      // A past expiry is allowed (the link expires at once), but not one the database cannot hold.
      if (patch.expiresAt != null && !isStorableTime(patch.expiresAt.getTime())) {
        throw new InvalidRequest(`expires_at must be a date-time ${STORABLE_RANGE}.`, 'invalid_expiry');
      }
      if (patch.maxVisits != null) checkVisitLimit(patch.maxVisits);
      // A new target passes the same checks as at creation (no loop, not blocked), normalised alike.
      const { password, ...rest } = patch;
      const withUrl: LinkPatch = rest.url === undefined ? rest : { ...rest, url: await checkTargetUrl(rest.url, options.urlPolicy) };
      const checked: LinkPatch = rest.tags === undefined ? withUrl : { ...withUrl, tags: normaliseTags(rest.tags) };
      if (password !== undefined) checked.passwordHash = password === null ? null : await passwordHashOf(password);
      const updated = await db(() => store.updateById(owned.id, checked));
      if (!updated) throw new LinkNotFound();
      // Replace, not just drop, the entry: every replica reads the new state on its next request.
      const cached = toCached(updated);
      await cache.set(code, cached, changeTtlFor(cached));
      return updated;
    },

    async deleteLink(code, principal, context) {
      const owned = await findOwned(code, principal, 'manage');
      const deleted = await db(() => store.deleteById(owned.id));
      if (!deleted) throw new LinkNotFound();
      // A tombstone, not just a delete: a lookup that read the row before the DELETE fills only an
      // absent entry, so it cannot cache the deleted link again. A new link on this code overwrites it.
      // It ranks above every state of the link: a write of one that reaches the cache late is refused.
      await cache.setMissing(code, Math.max(options.negativeCacheTtlS, TOMBSTONE_TTL_S), { overwrite: true, deleted: { id: deleted.id, version: deleted.version } });
      // Aliases go back too: the KGS releases them for claiming again after the same cool-down
      // (docs/operations.md, "Deleted links and code reuse": an alias held "taken" forever by a deleted link helps no one).
      await codes.returnCodes([code], context).catch((err: unknown) => {
        log.warn({ code, err: (err as Error).message }, 'could not return a deleted code to the KGS; it stays used');
      });
    },

    async listLinks(principal, page) {
      if (principal === null) throw new Unauthorized('An API key is required.');
      return db(() => store.list({ ...page, ...(principal.isAdmin ? {} : { ownerKeyId: principal.keyId }) }));
    },

    async getAnalytics(code, principal, query) {
      const link = await findOwned(code, principal, 'read');
      // Days before the retention's cut-off are left out as soon as they pass it, not only once the
      // sweep (every minute, in slices) has deleted them: no day older than the cut-off is reported.
      const retention = options.analyticsRetentionDays ?? 0;
      const kept = retention > 0 ? firstKeptDay(now(), retention) : null;
      // A range wholly before it keeps from > to: no day matches, and the answer is empty.
      const read = kept !== null && query.from < kept ? { ...query, from: kept } : query;
      const analytics = await db(() => store.analytics(link.id, read));
      // Deleted since findOwned: its detail went with it.
      if (analytics.allTime === null) throw new LinkNotFound();
      // The totals of the analytics' own snapshot, not of the read before it: a flush committing in
      // between would have shown fewer clicks of all time than in the range.
      return { link: { ...link, clicks: analytics.allTime.clicks, botHits: analytics.allTime.botHits, lastClickedAt: analytics.allTime.lastClickedAt }, analytics };
    },

    async *exportLinks(principal, pageSize = 500) {
      if (principal === null) throw new Unauthorized('An API key is required.');
      const ownerKeyId = principal.isAdmin ? {} : { ownerKeyId: principal.keyId };
      let after: ListOptions['after'];
      for (;;) {
        const page = await db(() => store.list({ ...ownerKeyId, limit: pageSize, ...(after === undefined ? {} : { after }) }));
        yield* page;
        const last = page.at(-1);
        if (page.length < pageSize || last === undefined) return;
        after = { id: last.id, key: null };
      }
    },

    async startImport(principal) {
      if (principal === null) throw new Unauthorized('An API key is required.');
      const lease = await db(() => store.tryImportLease(principal.keyId, IMPORT_LEASE_MS));
      if (lease === null) throw new ImportInProgress();
      return {
        renew: () => db(() => lease.renew()),
        release: () => db(() => lease.release()),
      };
    },

    async findImportMatches(principal, candidates) {
      if (principal === null) throw new Unauthorized('An API key is required.');
      const normalised = candidates.map((c) => {
        try {
          return normaliseTargetUrl(c.url, options.urlPolicy);
        } catch {
          return null;
        }
      });
      const urls = normalised.filter((u, i): u is string => u !== null && candidates[i]?.alias === undefined);
      const [byUrl, byCode] = await Promise.all([
        db(() => store.findByOwnerUrls(principal.keyId, urls)),
        Promise.all(candidates.map((c) => (c.alias === undefined || !CODE_SHAPE.test(c.alias) ? Promise.resolve(null) : db(() => store.findByCode(c.alias as string))))),
      ]);
      const firstByUrl = new Map<string, LinkRecord>();
      for (const link of byUrl) if (!firstByUrl.has(link.url)) firstByUrl.set(link.url, link);
      return candidates.map((c, i) => {
        const link = c.alias === undefined ? firstByUrl.get(normalised[i] ?? '') : byCode[i];
        return link ? { link, sameTarget: link.url === normalised[i] } : null;
      });
    },
  };
}
