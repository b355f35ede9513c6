// A link as a row of `urls`: the columns every statement of the link store returns, and the one
// mapping of such a row to a LinkRecord. Also what a link event keeps in the webhook outbox (the row
// as JSON, pg-webhook-store.ts), so that an event and GET /urls/{code} show a link the same way.
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
}

export const URL_COLUMNS =
  'id, short_code, original_url, created_at, expiry_date, is_one_time, max_visits, visits, forward_query, is_active, is_expired, is_custom_alias, owner_key_id, clicks, bot_hits, last_clicked_at, consumed_at, tags, (password_hash IS NOT NULL) AS has_password';

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
  };
}

