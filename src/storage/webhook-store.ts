// Port: webhook endpoints and their outbox of events to deliver (PostgreSQL; PGlite in the one-machine
// mode). Events are written by the LinkStore in the same statement or transaction as the change
// (src/storage/postgres/pg-link-store.ts); this port manages endpoints and hands events to the dispatcher.
import type { LinkRecord } from './link-store.ts';

export const WEBHOOK_EVENTS = ['link.created', 'link.updated', 'link.deleted', 'link.clicked'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookEndpointRecord {
  id: number;
  ownerKeyId: number;
  url: string;
  description: string | null;
  events: WebhookEventType[];
  isActive: boolean;
  /** Set when the dispatcher disabled the endpoint after failing deliveries (state `disabled_failing`). */
  disabledAt: Date | null;
  consecutiveFailures: number;
  failingSince: Date | null;
  createdAt: Date;
}

export interface NewWebhookEndpoint {
  ownerKeyId: number;
  url: string;
  description: string | null;
  events: WebhookEventType[];
  /** `whsec_…`, kept so that the dispatcher can sign. */
  secret: string;
}

export interface WebhookEndpointPatch {
  url?: string;
  events?: WebhookEventType[];
  description?: string | null;
  /** true re-enables: the failure count starts again from zero. */
  isActive?: boolean;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed';

/** One event for one endpoint, as the delivery log shows it. */
export interface DeliveryRecord {
  id: number;
  eventId: string;
  endpointId: number;
  type: WebhookEventType;
  state: DeliveryState;
  attempts: number;
  createdAt: Date;
  lastAttemptAt: Date | null;
  nextAttemptAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: Date | null;
}

/** An event claimed by one dispatcher, with what it needs to send it. */
export interface ClaimedDelivery {
  id: number;
  eventId: string;
  endpointId: number;
  url: string;
  secret: string;
  type: WebhookEventType;
  /** The event's data as written: link.clicked's batch, or an older version's link.* payload. */
  data: Record<string, unknown>;
  /**
   * The link of a link.* event as it was when the change committed; the dispatcher shows it as GET
   * /urls/{code} does. Null for link.clicked, and for a link.* event a version before this one wrote
   * (its `data` is then the payload itself).
   */
  link: LinkRecord | null;
  createdAt: Date;
  /** This attempt included. */
  attempts: number;
}

export interface ClaimOptions {
  now: Date;
  limit: number;
  /** The claimed rows are not due again before now + leaseMs (another replica takes them only if this one died). */
  leaseMs: number;
  /**
   * Endpoints the caller is sending to now: none of their events is taken, so one endpoint (a backlog
   * to a receiver that hangs) never holds more than one of the caller's slots.
   */
  skipEndpoints?: readonly number[];
}

export interface FailureOutcome {
  now: Date;
  status: number | null;
  error: string;
  /** null: given up (state `failed`). */
  retryAt: Date | null;
  /** The endpoint is disabled after this many failed attempts in a row, once it has been failing for disableAfterMs. */
  disableAfterFailures: number;
  disableAfterMs: number;
}

export interface WebhookStore {
  /** No limit: POST /webhooks goes through insertEndpointWithin. */
  insertEndpoint(endpoint: NewWebhookEndpoint): Promise<WebhookEndpointRecord>;
  /**
   * Inserts the endpoint unless its owner already has `maxPerOwner` (null then). The count and the
   * insert are one transaction that holds the owner's key row: concurrent creations by one key are
   * counted one after another, so together they cannot pass the limit.
   */
  insertEndpointWithin(endpoint: NewWebhookEndpoint, maxPerOwner: number): Promise<WebhookEndpointRecord | null>;
  findEndpoint(id: number): Promise<WebhookEndpointRecord | null>;
  /** Oldest first; `ownerKeyId` undefined lists every endpoint (admin). */
  listEndpoints(ownerKeyId?: number): Promise<WebhookEndpointRecord[]>;
  updateEndpoint(id: number, patch: WebhookEndpointPatch): Promise<WebhookEndpointRecord | null>;
  deleteEndpoint(id: number): Promise<boolean>;
  /** Newest first, keyset pagination on id. */
  listDeliveries(endpointId: number, page: { beforeId?: number; limit: number }): Promise<DeliveryRecord[]>;
  /**
   * Takes up to `limit` due events of active endpoints of keys not revoked (FOR UPDATE SKIP LOCKED:
   * concurrent dispatchers never take the same row), counts the attempt and leases them.
   */
  claimDue(options: ClaimOptions): Promise<ClaimedDelivery[]>;
  markDelivered(id: number, outcome: { now: Date; status: number }): Promise<void>;
  /** Records a failed attempt; returns whether this failure disabled the endpoint. */
  markFailed(id: number, outcome: FailureOutcome): Promise<{ disabled: boolean }>;
  /** Events waiting for delivery to an active endpoint of a key not revoked. */
  countPending(): Promise<number>;
  /**
   * Deletes up to `limit` events created before `before` that are delivered, given up, or pending for
   * an endpoint that is disabled or whose key is revoked (nothing would send them); returns how many.
   */
  pruneOutbox(before: Date, limit: number): Promise<number>;
}
