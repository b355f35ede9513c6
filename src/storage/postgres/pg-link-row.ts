// A link as a row of `urls` and its totals (`url_totals`): the columns every statement of the link
// store returns, and the one mapping of such a row to a LinkRecord. Also what a link event keeps in
// the webhook outbox (the row as JSON, pg-webhook-store.ts), so that an event and GET /urls/{code}
// show a link the same way.
import type { CachedLink } from '../link-cache.ts';
import type { LinkRecord } from '../link-store.ts';

export interface UrlRow {
  id: number;
  short_code: string;
  original_url: string;
  created_at: Date | string;
  expiry_date: Date | string | null;
  is_one_time: boolean;
  max_visits: number | null;
  visits: number;
  forward_query: boolean;
  is_active: boolean;
  is_expired: boolean;
  is_custom_alias: boolean;
  owner_key_id: number | null;
  clicks: number;
  bot_hits: number;
  last_clicked_at: Date | string | null;
  consumed_at: Date | string | null;
  has_password: boolean;
  tags: string[];
  /** Absent in events written before migration 017. */
  version?: number | string;
}

/** The columns of `urls` itself, qualified: url_totals shares some names (migrations/014_url_totals.sql). */
const ROW_COLUMNS =
  'urls.id, urls.short_code, urls.original_url, urls.created_at, urls.expiry_date, urls.is_one_time, urls.max_visits, urls.visits, urls.forward_query, urls.is_active, urls.is_expired, urls.is_custom_alias, urls.owner_key_id, urls.consumed_at, urls.tags, (urls.password_hash IS NOT NULL) AS has_password, urls.version';

/**
 * A link with its totals, for a RETURNING of a statement on `urls` (not aliased): the totals row as
 * the statement found it. Three probes of its primary key: these statements return one link.
 */
export const URL_COLUMNS = `${ROW_COLUMNS},
  coalesce((SELECT t.clicks FROM url_totals t WHERE t.url_id = urls.id), 0) AS clicks,
  coalesce((SELECT t.bot_hits FROM url_totals t WHERE t.url_id = urls.id), 0) AS bot_hits,
  (SELECT t.last_clicked_at FROM url_totals t WHERE t.url_id = urls.id) AS last_clicked_at`;

/** A link just inserted: no clicks yet (its totals row is written after the statement, by a trigger). */
export const NEW_URL_COLUMNS = `${ROW_COLUMNS}, 0::bigint AS clicks, 0::bigint AS bot_hits, NULL::timestamptz AS last_clicked_at`;

/** Links with their totals, for `SELECT ${LINK_COLUMNS} FROM ${LINKS} WHERE …` (url_totals is `t`). */
export const LINKS = 'urls LEFT JOIN url_totals t ON t.url_id = urls.id';
export const LINK_COLUMNS = `${ROW_COLUMNS}, coalesce(t.clicks, 0) AS clicks, coalesce(t.bot_hits, 0) AS bot_hits, t.last_clicked_at`;

/**
 * A row as node-postgres and PGlite give it, or as to_jsonb wrote it into an event (dates as ISO
 * text, bigints as JSON numbers): Date and Number read either.
 */
export function toLink(row: UrlRow): LinkRecord {
  return {
    id: Number(row.id),
    code: row.short_code,
    url: row.original_url,
    createdAt: new Date(row.created_at),
    expiresAt: row.expiry_date === null ? null : new Date(row.expiry_date),
    isOneTime: row.is_one_time,
    maxVisits: row.max_visits === null ? null : Number(row.max_visits),
    visits: Number(row.visits),
    forwardQuery: row.forward_query,
    isActive: row.is_active,
    isExpired: row.is_expired,
    isCustomAlias: row.is_custom_alias,
    ownerKeyId: row.owner_key_id === null ? null : Number(row.owner_key_id),
    clicks: Number(row.clicks),
    botHits: Number(row.bot_hits),
    lastClickedAt: row.last_clicked_at === null ? null : new Date(row.last_clicked_at),
    consumedAt: row.consumed_at === null ? null : new Date(row.consumed_at),
    hasPassword: row.has_password,
    tags: row.tags,
    version: row.version === undefined ? 0 : Number(row.version),
  };
}


/**
 * What a redirect reads of a link (its cache entry, src/storage/link-cache.ts), for `SELECT
 * ${REDIRECT_COLUMNS} FROM urls WHERE …`: no join with the totals, and nothing node-postgres must
 * parse beyond numbers and booleans. The expiry travels as epoch milliseconds, cut to the
 * millisecond as a Date of the full record is (floor: an expiry is never before 1970).
 */
export const REDIRECT_COLUMNS =
  'urls.short_code, urls.id, urls.original_url, floor(extract(epoch FROM urls.expiry_date) * 1000)::float8 AS expires_ms, urls.max_visits IS NOT NULL AS limited, urls.is_active, urls.consumed_at IS NOT NULL AS consumed, urls.forward_query, urls.password_hash IS NOT NULL AS has_password, urls.version';

export interface RedirectRow {
  short_code: string;
  id: number | string;
  original_url: string;
  expires_ms: number | null;
  limited: boolean;
  is_active: boolean;
  consumed: boolean;
  forward_query: boolean;
  has_password: boolean;
  version: number;
}

export function toRedirect(row: RedirectRow): CachedLink {
  return {
    id: Number(row.id),
    url: row.original_url,
    expiresAt: row.expires_ms === null ? null : Number(row.expires_ms),
    limited: row.limited,
    isActive: row.is_active,
    consumed: row.consumed,
    forwardQuery: row.forward_query,
    hasPassword: row.has_password,
    version: Number(row.version),
  };
}
