// WebhookStore in plain, parameterised SQL, on node-postgres and PGlite alike; and the SQL with which
// the LinkStore writes link events into the outbox in the same statement as the change.
import type { TransactionalRunner } from '../../core/sql.ts';
import type { LinkRecord } from '../link-store.ts';
import { toLink, type UrlRow } from './pg-link-row.ts';
import type {
  ClaimedDelivery,
  DeliveryRecord,
  DeliveryState,
  WebhookEndpointRecord,
  WebhookEventType,
  WebhookStore,
} from '../webhook-store.ts';

/** Links per `link.clicked` event: a flush of more links is sent as several events, so a body stays bounded (~100 KB). */
export const CLICKED_LINKS_PER_EVENT = 1000;

/**
 * A link row (alias `r`: the URL_COLUMNS of pg-link-row.ts) as an event's data: the row itself, under
 * `link`. The dispatcher reads it back with toLink and shows it with toLinkView, as GET /urls/{code}
 * shows a link: one mapping, no second list of fields here to fall behind.
 */
const LINK_DATA = `jsonb_build_object('link', to_jsonb(r))`;

/** A link.* event's data as this version writes it: the link, or null for an older version's payload. */
function linkOf(type: string, data: Record<string, unknown>): LinkRecord | null {
  if (type === 'link.clicked' || typeof data.link !== 'object' || data.link === null) return null;
  return toLink(data.link as UrlRow);
}

/**
 * A data-modifying CTE that writes `event` for every link row of the CTE `source` (aliased r) to each
 * subscriber: its owner's endpoints and every admin key's. Part of the same statement as the change,
 * so the event commits exactly when the change does.
 */
export function linkEventCte(event: Exclude<WebhookEventType, 'link.clicked'>, source: string): string {
  return `webhook_events AS (
    INSERT INTO webhook_outbox (endpoint_id, event_type, data)
    SELECT s.id, '${event}', ${LINK_DATA} FROM ${source} r
      JOIN webhook_subscribers s ON '${event}' = ANY (s.events) AND (s.is_admin OR s.owner_key_id = r.owner_key_id)
  )`;
}

/**
 * One `link.clicked` event per subscribed endpoint and flush (in chunks of CLICKED_LINKS_PER_EVENT
 * links): the clicks by people of each link it may see, bots left out. Run inside applyClicks's
 * transaction. $1 link ids, $2 clicks.
 */
export const CLICKED_EVENTS_SQL = `
  INSERT INTO webhook_outbox (endpoint_id, event_type, data)
  SELECT endpoint_id, 'link.clicked',
         jsonb_build_object('links', jsonb_agg(jsonb_build_object('short_code', code, 'clicks', clicks) ORDER BY code), 'clicks', sum(clicks))
    FROM (SELECT s.id AS endpoint_id, u.short_code AS code, v.clicks,
                 (row_number() OVER (PARTITION BY s.id ORDER BY u.id) - 1) / ${CLICKED_LINKS_PER_EVENT} AS chunk
            FROM unnest($1::bigint[], $2::bigint[]) AS v(id, clicks)
            JOIN urls u ON u.id = v.id
            JOIN webhook_subscribers s ON 'link.clicked' = ANY (s.events) AND (s.is_admin OR s.owner_key_id = u.owner_key_id)
           WHERE v.clicks > 0) AS c
   GROUP BY endpoint_id, chunk`;

/** Whether any endpoint wants `link.clicked`: most flushes need not join anything. */
export const ANY_CLICK_SUBSCRIBER_SQL = `SELECT EXISTS (SELECT 1 FROM webhook_subscribers WHERE 'link.clicked' = ANY (events)) AS found`;

interface EndpointRow {
  id: number;
  owner_key_id: number;
  url: string;
  description: string | null;
  events: string[];
  is_active: boolean;
  disabled_at: Date | null;
  consecutive_failures: number;
  failing_since: Date | null;
  created_at: Date;
}

const ENDPOINT_COLUMNS = 'id, owner_key_id, url, description, events, is_active, disabled_at, consecutive_failures, failing_since, created_at';

const date = (value: Date | string | null): Date | null => (value === null ? null : new Date(value));

function toEndpoint(row: EndpointRow): WebhookEndpointRecord {
  return {
    id: Number(row.id),
    ownerKeyId: Number(row.owner_key_id),
    url: row.url,
    description: row.description,
    events: row.events as WebhookEventType[],
    isActive: row.is_active,
    disabledAt: date(row.disabled_at),
    consecutiveFailures: Number(row.consecutive_failures),
    failingSince: date(row.failing_since),
    createdAt: new Date(row.created_at),
  };
}

interface OutboxRow {
  id: number;
  event_id: string;
  endpoint_id: number;
  event_type: string;
  state: string;
  attempts: number;
  created_at: Date;
  last_attempt_at: Date | null;
  next_attempt_at: Date;
  last_status: number | null;
  last_error: string | null;
  delivered_at: Date | null;
}

const OUTBOX_COLUMNS = 'id, event_id, endpoint_id, event_type, state, attempts, created_at, last_attempt_at, next_attempt_at, last_status, last_error, delivered_at';

function toDelivery(row: OutboxRow): DeliveryRecord {
  return {
    id: Number(row.id),
    eventId: row.event_id,
    endpointId: Number(row.endpoint_id),
    type: row.event_type as WebhookEventType,
    state: row.state as DeliveryState,
    attempts: Number(row.attempts),
    createdAt: new Date(row.created_at),
    lastAttemptAt: date(row.last_attempt_at),
    nextAttemptAt: row.state === 'pending' ? new Date(row.next_attempt_at) : null,
    lastStatus: row.last_status === null ? null : Number(row.last_status),
    lastError: row.last_error,
    deliveredAt: date(row.delivered_at),
  };
}

export function createPgWebhookStore(db: TransactionalRunner): WebhookStore {
  return {
    async insertEndpoint(e) {
      const { rows } = await db.query<EndpointRow>(
        `INSERT INTO webhook_endpoints (owner_key_id, url, description, events, secret) VALUES ($1, $2, $3, $4::text[], $5) RETURNING ${ENDPOINT_COLUMNS}`,
        [e.ownerKeyId, e.url, e.description, e.events, e.secret],
      );
      return toEndpoint(rows[0] as EndpointRow);
    },

    insertEndpointWithin: (e, maxPerOwner) =>
      db.transaction(async (tx) => {
        // The owner's key row, held until commit: a concurrent creation by the same key waits here
        // until this one has committed. Two statements, not one: under READ COMMITTED each statement
        // sees what committed before it began, so the count below (taken after the lock) includes the
        // endpoint the previous holder inserted; a count in the locking statement would not.
        // NO KEY UPDATE, not UPDATE: the foreign-key checks of link creations by this key (KEY SHARE)
        // need not wait for it. PGlite, with one connection, runs the same two statements.
        await tx.query('SELECT 1 FROM api_keys WHERE id = $1 FOR NO KEY UPDATE', [e.ownerKeyId]);
        const { rows } = await tx.query<EndpointRow>(
          `INSERT INTO webhook_endpoints (owner_key_id, url, description, events, secret)
           SELECT $1, $2, $3, $4::text[], $5 WHERE (SELECT count(*) FROM webhook_endpoints WHERE owner_key_id = $1) < $6
           RETURNING ${ENDPOINT_COLUMNS}`,
          [e.ownerKeyId, e.url, e.description, e.events, e.secret, maxPerOwner],
        );
        return rows[0] ? toEndpoint(rows[0]) : null;
      }),

    async findEndpoint(id) {
      const { rows } = await db.query<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1`, [id]);
      return rows[0] ? toEndpoint(rows[0]) : null;
    },

    async listEndpoints(ownerKeyId) {
      const { rows } =
        ownerKeyId === undefined
          ? await db.query<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY id`, [])
          : await db.query<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE owner_key_id = $1 ORDER BY id`, [ownerKeyId]);
      return rows.map(toEndpoint);
    },

    async updateEndpoint(id, patch) {
      const params: unknown[] = [id];
      const sets: string[] = [];
      const set = (column: string, value: unknown, cast = ''): void => {
        params.push(value);
        sets.push(`${column} = $${params.length}${cast}`);
      };
      if (patch.url !== undefined) set('url', patch.url);
      if (patch.events !== undefined) set('events', patch.events, '::text[]');
      if (patch.description !== undefined) set('description', patch.description);
      if (patch.isActive !== undefined) {
        set('is_active', patch.isActive);
        // Enabled again (or disabled by hand): a fresh start, no trace of the automatic disabling.
        sets.push('disabled_at = NULL');
        if (patch.isActive) sets.push('consecutive_failures = 0', 'failing_since = NULL');
      }
      const sql =
        sets.length === 0
          ? `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1`
          : `UPDATE webhook_endpoints SET ${sets.join(', ')} WHERE id = $1 RETURNING ${ENDPOINT_COLUMNS}`;
      const { rows } = await db.query<EndpointRow>(sql, params);
      return rows[0] ? toEndpoint(rows[0]) : null;
    },

    async deleteEndpoint(id) {
      const { rows } = await db.query<{ id: number }>('DELETE FROM webhook_endpoints WHERE id = $1 RETURNING id', [id]);
      return rows.length === 1;
    },

    async listDeliveries(endpointId, { beforeId, limit }) {
      const { rows } = await db.query<OutboxRow>(
        `SELECT ${OUTBOX_COLUMNS} FROM webhook_outbox WHERE endpoint_id = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
        [endpointId, beforeId ?? null, limit],
      );
      return rows.map(toDelivery);
    },

    async claimDue({ now, limit, leaseMs, skipEndpoints = [] }) {
      // SKIP LOCKED: rows another dispatcher is claiming right now are passed over, not waited for;
      // the lease (next_attempt_at moved ahead) keeps them from being claimed again once it commits.
      // webhook_subscribers: active endpoints of keys not revoked (migration 006), so an event written
      // before its key was revoked is not sent after.
      const { rows } = await db.query<{
        id: number;
        event_id: string;
        endpoint_id: number;
        url: string;
        secret: string;
        event_type: string;
        data: Record<string, unknown> | string;
        created_at: Date;
        attempts: number;
      }>(
        `WITH due AS (
           SELECT o.id FROM webhook_outbox o JOIN webhook_subscribers s ON s.id = o.endpoint_id
            WHERE o.state = 'pending' AND o.next_attempt_at <= $1 AND o.endpoint_id <> ALL($4::bigint[])
            ORDER BY o.next_attempt_at LIMIT $2
            FOR UPDATE OF o SKIP LOCKED
         )
         UPDATE webhook_outbox o SET attempts = o.attempts + 1, last_attempt_at = $1, next_attempt_at = $1::timestamptz + $3::float8 * interval '1 millisecond'
           FROM due, webhook_endpoints e
          WHERE o.id = due.id AND e.id = o.endpoint_id
         RETURNING o.id, o.event_id, o.endpoint_id, e.url, e.secret, o.event_type, o.data, o.created_at, o.attempts`,
        [now, limit, leaseMs, skipEndpoints],
      );
      return rows
        .map((row): ClaimedDelivery => {
          const data = typeof row.data === 'string' ? (JSON.parse(row.data) as Record<string, unknown>) : row.data;
          return {
            id: Number(row.id),
            eventId: row.event_id,
            endpointId: Number(row.endpoint_id),
            url: row.url,
            secret: row.secret,
            type: row.event_type as WebhookEventType,
            data,
            link: linkOf(row.event_type, data),
            createdAt: new Date(row.created_at),
            attempts: Number(row.attempts),
          };
        })
        .sort((a, b) => a.id - b.id);
    },

    async markDelivered(id, { now, status }) {
      await db.query(
        `WITH o AS (
           UPDATE webhook_outbox SET state = 'delivered', delivered_at = $2, last_status = $3, last_error = NULL WHERE id = $1 RETURNING endpoint_id
         )
         UPDATE webhook_endpoints e SET consecutive_failures = 0, failing_since = NULL FROM o WHERE e.id = o.endpoint_id`,
        [id, now, status],
      );
    },

    async markFailed(id, outcome) {
      // The endpoint is disabled in the same statement that counts the failure that trips it, so
      // concurrent failures on several replicas cannot miss the threshold.
      const tripped = `(e.consecutive_failures + 1 >= $6 AND COALESCE(e.failing_since, $2) <= $2::timestamptz - $7::float8 * interval '1 millisecond')`;
      const { rows } = await db.query<{ disabled: boolean }>(
        `WITH o AS (
           UPDATE webhook_outbox SET state = CASE WHEN $5::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
                  next_attempt_at = COALESCE($5, next_attempt_at), last_status = $3, last_error = left($4, 300)
            WHERE id = $1 RETURNING endpoint_id
         )
         UPDATE webhook_endpoints e SET consecutive_failures = e.consecutive_failures + 1, failing_since = COALESCE(e.failing_since, $2),
                is_active = e.is_active AND NOT ${tripped},
                disabled_at = CASE WHEN e.is_active AND ${tripped} THEN $2 ELSE e.disabled_at END
           FROM o WHERE e.id = o.endpoint_id
         RETURNING (e.disabled_at = $2 AND NOT e.is_active) AS disabled`,
        [id, outcome.now, outcome.status, outcome.error, outcome.retryAt, outcome.disableAfterFailures, outcome.disableAfterMs],
      );
      return { disabled: rows[0]?.disabled === true };
    },

    async countPending() {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*) AS n FROM webhook_outbox o JOIN webhook_subscribers s ON s.id = o.endpoint_id WHERE o.state = 'pending'`,
        [],
      );
      return Number(rows[0]?.n ?? 0);
    },

    async pruneOutbox(before, limit) {
      const { rows } = await db.query<{ n: number }>(
        `WITH gone AS (
           DELETE FROM webhook_outbox WHERE id IN (
             SELECT o.id FROM webhook_outbox o LEFT JOIN webhook_subscribers s ON s.id = o.endpoint_id
              WHERE o.created_at < $1 AND (o.state <> 'pending' OR s.id IS NULL) LIMIT $2)
           RETURNING 1)
         SELECT count(*) AS n FROM gone`,
        [before, limit],
      );
      return Number(rows[0]?.n ?? 0);
    },
  };
}
