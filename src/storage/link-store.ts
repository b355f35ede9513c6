// Ports: where links, their clicks and API keys are kept (PostgreSQL; PGlite in the one-machine mode).
import type { CachedLink } from './link-cache.ts';

export interface LinkRecord {
  id: number;
  code: string;
  url: string;
  createdAt: Date;
  expiresAt: Date | null;
  /** maxVisits === 1, kept for what predates visit limits (the API's `is_one_time`). */
  isOneTime: boolean;
  /** Redirects the link gives people, null for no limit. */
  maxVisits: number | null;
  /** Redirects that counted toward maxVisits (only counted while a limit is set). */
  visits: number;
  /** The short link's query string is added to the target's on a redirect (src/url/query-forwarding.ts). */
  forwardQuery: boolean;
  isActive: boolean;
  /** Set by the expiry sweep; the redirect path checks `expiresAt` itself, to the second. */
  isExpired: boolean;
  isCustomAlias: boolean;
  ownerKeyId: number | null;
  /** Redirects served to people, all time. */
  clicks: number;
  /** Redirects (and one-time previews) served to bots, crawlers and link previews, all time. */
  botHits: number;
  lastClickedAt: Date | null;
  /** When the link was used up: set by the visit that reached maxVisits, or by lowering maxVisits to the visits made. */
  consumedAt: Date | null;
  /** Whether a password protects the link; its hash is never part of a record (findPasswordHash). */
  hasPassword: boolean;
  /** Lower case, unique, sorted; at most 20 (src/url/tags.ts). */
  tags: string[];
  /**
   * Raised by every change of the row (1 at creation; 0 in an event written before migration 017):
   * the cache keeps the newer of two states of a link by it (src/storage/link-cache.ts).
   */
  version: number;
}

export interface NewLink {
  code: string;
  url: string;
  expiresAt: Date | null;
  /** Redirects the link gives people, null for no limit; absent: 1 when isOneTime, else none. */
  maxVisits?: number | null;
  /** Shorthand for maxVisits 1, for callers that predate visit limits; a given maxVisits wins. */
  isOneTime?: boolean;
  forwardQuery?: boolean;
  isCustomAlias: boolean;
  ownerKeyId: number | null;
  /** The password's hash (hashLinkPassword), or null for none; absent = null. */
  passwordHash?: string | null;
  /** Already normalised (normaliseTags); none when absent. */
  tags?: readonly string[];
}

export interface LinkPatch {
  isActive?: boolean;
  /** A new target, already checked and normalised (checkTargetUrl). */
  url?: string;
  /** null removes the expiry. */
  expiresAt?: Date | null;
  /** A new password's hash (hashLinkPassword); null removes the password. */
  passwordHash?: string | null;
  /** Replaces the whole list; already normalised (normaliseTags). */
  tags?: readonly string[];
  /**
   * null removes the limit. The link is used once the visits made reach the limit (lowering it to
   * them or below uses it up); raising it above them, or removing it, makes a used link active again.
   */
  maxVisits?: number | null;
  forwardQuery?: boolean;
}

/** What a click is broken down by (docs/privacy.md). `bot` applies to bot hits only, the rest to clicks only. */
export const DIMENSIONS = ['referrer', 'country', 'browser', 'os', 'device', 'bot'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/** The value that stands for every value past a dimension's bound, and for the rest of a top-N. */
export const OTHER = '(other)';

/**
 * A day's counts by dimension and value (clicks; for `bot`, bot hits): dimension → value → count, or,
 * for a day of few values, the same as flat triples `[dimension, value, count, …]`. Most links of a
 * flush have one or a few clicks a day: the triples are one small array where the maps were six
 * objects of their own, each held in memory until the flush (docs/performance.md, "Clicks of links
 * not clicked before"). Read it with `eachDayValue`.
 */
export type DayValues = Map<Dimension, Map<string, number>> | (string | number)[];

/** Each (dimension, value, count) of a day's values, in either form. */
export function eachDayValue(values: DayValues, each: (dimension: Dimension, value: string, n: number) => void): void {
  if (Array.isArray(values)) {
    for (let i = 0; i < values.length; i += 3) each(values[i] as Dimension, values[i + 1] as string, values[i + 2] as number);
    return;
  }
  for (const [dimension, counts] of values) for (const [value, n] of counts) each(dimension, value, n);
}

/** Hits of one link on one UTC day since the last flush. */
export interface DayClicks {
  clicks: number;
  botHits: number;
  values: DayValues;
}

/** Hits of one link since the last flush. */
export interface ClickAggregate {
  linkId: number;
  clicks: number;
  botHits: number;
  /** Time of the last click by a person; null when there were only bot hits. */
  lastClickedAt: Date | null;
  /** UTC day (YYYY-MM-DD) → its hits. */
  days: Map<string, DayClicks>;
}

/** An import's hold on its key (LinkStore.tryImportLease); the KGS's replenish lock is one too (table-lease.ts). */
export interface ImportLease {
  /** Another `ttlMs` from now; false when the lease lapsed and another import has taken it. */
  renew(): Promise<boolean>;
  /** Ends it, if it is still this one's. */
  release(): Promise<void>;
}

/** One value of a dimension and its count in the range. */
export interface DimensionCount {
  value: string;
  count: number;
}

/** A link's running totals (LinkRecord's clicks, botHits and lastClickedAt). */
export interface LinkTotals {
  clicks: number;
  botHits: number;
  lastClickedAt: Date | null;
}

/**
 * A link's analytics over a range of UTC days, and its all-time totals, all read in one snapshot: a
 * click flush that commits meanwhile changes none of them, so the figures always agree with each other.
 */
export interface LinkAnalytics {
  /** Days of the range with any hit, ascending. */
  daily: { date: string; clicks: number; botHits: number }[];
  /** Sums over the range. */
  totals: { clicks: number; botHits: number };
  /** Each dimension's top values by count, most first; the rest summed as one OTHER entry, last. */
  dimensions: Record<Dimension, DimensionCount[]>;
  /** The link's totals of all time, never less than the range's; null when no link has this id (any more). */
  allTime: LinkTotals | null;
}

export interface AnalyticsQuery {
  /** First and last UTC day, inclusive (YYYY-MM-DD). */
  from: string;
  to: string;
  /** Values listed per dimension before the rest is summed as OTHER. */
  top: number;
}

/** A link's state as listings show it (linkState in src/url/routes/schemas.ts), in order of precedence. */
export type LinkStateName = 'active' | 'expired' | 'used' | 'disabled';

/** What a listing is ordered by: creation (the id, the order links were stored in), clicks, last click. */
export const LIST_SORTS = ['created', 'clicks', 'last_click'] as const;
export type ListSort = (typeof LIST_SORTS)[number];
export type ListOrder = 'desc' | 'asc';

/**
 * Where the previous page ended: its last link's sort key and id (keyset pagination). `key` is unused
 * for `created` (the id is the key), the clicks for `clicks`, the last click (null: never) for
 * `last_click`.
 */
export interface ListPosition {
  id: number;
  key: number | Date | null;
}

/** The position a page that ended with `link` continues from, for this sort. */
export function listPosition(link: LinkRecord, sort: ListSort): ListPosition {
  return { id: link.id, key: sort === 'clicks' ? link.clicks : sort === 'last_click' ? link.lastClickedAt : null };
}

/**
 * One page of a listing: keyset pagination on (sort key, id), ties broken by id in the same direction;
 * links never clicked come last in both orders of `last_click`. Every filter given must hold.
 */
export interface ListOptions {
  /** undefined lists every link (admin). */
  ownerKeyId?: number;
  limit: number;
  /** Default: created. */
  sort?: ListSort;
  /** Default: desc. */
  order?: ListOrder;
  /** Only links after this position in the order (the next page). */
  after?: ListPosition;
  /** Text found (any letter case) in the code or the target URL. */
  search?: string;
  /** Only links in this state, judged at `now` (expiry to the second, as the redirect does). */
  state?: LinkStateName;
  now?: Date;
  /** Only links having every one of these tags (normalised). */
  tags?: readonly string[];
  /** Half-open ranges: `after` included, `before` not. A link without expiry matches no expiry bound. */
  createdAfter?: Date;
  createdBefore?: Date;
  expiresAfter?: Date;
  expiresBefore?: Date;
}

/** Thrown by insert when the short code exists already. */
export class CodeExists extends Error {
  constructor(readonly code: string) {
    super(`short code ${code} exists`);
    this.name = 'CodeExists';
  }
}

export interface LinkStore {
  insert(link: NewLink): Promise<LinkRecord>;
  findByCode(code: string): Promise<LinkRecord | null>;
  /**
   * What a redirect needs of a link, as the cache holds it, without the rest of its record (no
   * totals, tags or dates to read): the cold redirect's lookup. Equal to `toCached(findByCode(code))`.
   */
  findRedirect(code: string): Promise<CachedLink | null>;
  /**
   * The visit gate of a link with a visit limit: one atomic conditional update that counts a visit
   * only while the link has one left, is active and has not expired at `now`, and marks it used when
   * this visit reaches the limit. With k visits left, exactly k of any number of concurrent callers
   * (on any number of replicas) get the link as it is after their visit; the others get null, as does
   * a link without a limit or a row that is gone.
   */
  countVisit(id: number, now: Date): Promise<LinkRecord | null>;
  /**
   * The password hash of the link with this row id, read at each attempt (never cached): null when
   * the link has no password or no longer exists.
   */
  findPasswordHash(id: number): Promise<string | null>;
  /**
   * Update and delete take the row id of the link that was read and checked, never its code: by the
   * time they write, that link may be gone and its code (an alias, after the cool-down) someone else's.
   * null when no row has the id any more.
   */
  deleteById(id: number): Promise<LinkRecord | null>;
  updateById(id: number, patch: LinkPatch): Promise<LinkRecord | null>;
  /** One page in the order asked (newest first by default); `ownerKeyId` undefined lists every link (admin). */
  list(options: ListOptions): Promise<LinkRecord[]>;
  /**
   * The owner's links to any of these exact target URLs, oldest first (an import's idempotency
   * check, docs/import-export.md). Indexed by a hash of the URL (migration 007).
   */
  findByOwnerUrls(ownerKeyId: number, urls: readonly string[]): Promise<LinkRecord[]>;
  /**
   * The key's import lease for `ttlMs`, or null while another import holds it and has not let it
   * lapse: two imports of one key at once would each find a row's link missing and each create it
   * (docs/import-export.md, "One import at a time"). The database's clock decides expiry.
   */
  tryImportLease(ownerKeyId: number, ttlMs: number): Promise<ImportLease | null>;
  /**
   * One read-only snapshot; a statement that runs past the read's budget fails it with AnalyticsTooSlow
   * (503 server_busy), which is no outage.
   */
  analytics(linkId: number, query: AnalyticsQuery): Promise<LinkAnalytics>;
  /**
   * Adds a batch of clicks in one transaction; clicks of links deleted meanwhile are dropped. With
   * `batchId`, applying the same batch again is a no-op (a retry after a lost COMMIT answer must not
   * count twice).
   */
  applyClicks(batch: readonly ClickAggregate[], batchId?: string): Promise<void>;
  /**
   * Deletes up to `limit` rows of daily detail (series and dimensions) of days before `beforeDay`
   * (YYYY-MM-DD); the links' totals stay. Returns how many rows went.
   */
  pruneDailyDetail(beforeDay: string, limit: number): Promise<number>;
  /**
   * Upkeep of the per-day tables' monthly partitions (migrations 011–013): creates those of the
   * month of `today` (YYYY-MM-DD) and of the months ahead, and, unless `firstKeptDay` is null, drops
   * those whose days all come before it. Returns the partitions created and dropped.
   */
  maintainClickPartitions(today: string, firstKeptDay: string | null): Promise<{ created: string[]; dropped: string[] }>;
  /** Forgets the ids of batches applied before `before`; returns how many. */
  pruneClickBatches(before: Date): Promise<number>;
  /** Marks links past their expiry as expired; returns how many. */
  markExpired(now: Date, limit: number): Promise<number>;
  ping(): Promise<void>;
}

export interface ApiKeyRecord {
  id: number;
  keyPrefix: string;
  name: string | null;
  isAdmin: boolean;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface ApiKeyStore {
  findByHash(hash: Buffer): Promise<ApiKeyRecord | null>;
  insert(key: { hash: Buffer; keyPrefix: string; name: string | null; isAdmin: boolean }): Promise<ApiKeyRecord>;
  /** Inserts the key unless its hash exists (bootstrap from ADMIN_API_KEY); returns the record. */
  ensure(key: { hash: Buffer; keyPrefix: string; name: string | null; isAdmin: boolean }): Promise<ApiKeyRecord>;
  /** Whether any admin key that is not revoked exists (the one-machine mode creates one on first start). */
  hasAdminKey(): Promise<boolean>;
  findById(id: number): Promise<ApiKeyRecord | null>;
  /** Every key, revoked ones too, oldest first. */
  list(): Promise<ApiKeyRecord[]>;
  /** Marks the key revoked (keeping the first revocation time); null when no key has this id. */
  revoke(id: number): Promise<ApiKeyRecord | null>;
}
