-- Webhooks (docs/webhooks.md): endpoints per API key, and a durable outbox of events to deliver.
-- Link changes and click flushes insert their events in the same statement or transaction as the
-- change itself (src/storage/postgres/pg-link-store.ts), so an event exists exactly when its change
-- committed; every URL service replica's dispatcher delivers them (src/url/webhook-dispatcher.ts).
CREATE TABLE webhook_endpoints (
  id                    bigserial PRIMARY KEY,
  owner_key_id          bigint NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
  url                   varchar(2048) NOT NULL,
  description           varchar(200),
  -- A subset of link.created, link.updated, link.deleted, link.clicked.
  events                text[] NOT NULL,
  -- `whsec_` + base64 of 32 random bytes, kept as it is: the dispatcher must sign with it (docs/webhooks.md, "The secret").
  secret                text NOT NULL,
  is_active             boolean NOT NULL DEFAULT true,
  -- Set when the dispatcher disabled the endpoint after failing deliveries; cleared when it is enabled again.
  disabled_at           timestamptz,
  -- Failed attempts in a row (any event) and since when; reset by any delivery that succeeds.
  consecutive_failures  integer NOT NULL DEFAULT 0,
  failing_since         timestamptz,
  created_at            timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhook_endpoints_owner_idx ON webhook_endpoints (owner_key_id, id);

-- Who gets an event about a link: active endpoints of keys that are not revoked, subscribed to the
-- event, owned by the link's key, or by an admin key (an admin's endpoints get every link's events).
CREATE VIEW webhook_subscribers AS
SELECT e.id, e.events, e.owner_key_id, k.is_admin
  FROM webhook_endpoints e JOIN api_keys k ON k.id = e.owner_key_id
 WHERE e.is_active AND k.revoked_at IS NULL;

CREATE TABLE webhook_outbox (
  id               bigserial PRIMARY KEY,
  -- The webhook-id header: the same on every attempt, so receivers can drop duplicates.
  event_id         uuid NOT NULL DEFAULT gen_random_uuid(),
  endpoint_id      bigint NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  event_type       varchar(32) NOT NULL,
  -- The event's `data`; the dispatcher adds the short URLs (PUBLIC_BASE_URL is not the database's).
  data             jsonb NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  state            varchar(16) NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  -- When the row may be claimed: now for a new event, the backoff after a failure, and a lease while
  -- a dispatcher sends it (a replica that dies mid-delivery leaves it due again once the lease ends).
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_attempt_at  timestamptz,
  last_status      integer,
  last_error       varchar(300),
  delivered_at     timestamptz
);

-- Claiming looks only at pending rows, the oldest due first.
CREATE INDEX webhook_outbox_due_idx ON webhook_outbox (next_attempt_at) WHERE state = 'pending';
-- An endpoint's delivery log, newest first (keyset pagination on id).
CREATE INDEX webhook_outbox_endpoint_idx ON webhook_outbox (endpoint_id, id DESC);
-- The retention sweep deletes old rows by creation time.
CREATE INDEX webhook_outbox_created_idx ON webhook_outbox (created_at);
