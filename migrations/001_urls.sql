-- The design's URLModel plus what the features need: owner (API key), last click, custom-alias flag
-- (aliases never go back to the KGS pool) and the one-time link's consumption time.
CREATE TABLE api_keys (
  id          bigserial PRIMARY KEY,
  -- SHA-256 of the key: keys are 192-bit random strings, so a fast hash is enough; the key itself is never stored.
  key_hash    bytea NOT NULL UNIQUE,
  -- The first characters of the key, to tell keys apart in listings without revealing them.
  key_prefix  varchar(16) NOT NULL,
  name        varchar(100),
  is_admin    boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

CREATE TABLE urls (
  id              bigserial PRIMARY KEY,
  original_url    varchar(2048) NOT NULL,
  short_code      varchar(10) NOT NULL UNIQUE,
  created_at      timestamptz NOT NULL DEFAULT now(),
  clicks          bigint NOT NULL DEFAULT 0,
  is_expired      boolean NOT NULL DEFAULT false,
  expiry_date     timestamptz,
  is_one_time     boolean NOT NULL DEFAULT false,
  is_active       boolean NOT NULL DEFAULT true,
  owner_key_id    bigint REFERENCES api_keys (id) ON DELETE SET NULL,
  is_custom_alias boolean NOT NULL DEFAULT false,
  last_clicked_at timestamptz,
  -- Set once, by the single redirect that consumed a one-time link.
  consumed_at     timestamptz
);

-- The caller's links, newest first, by keyset pagination on id.
CREATE INDEX urls_owner_id_idx ON urls (owner_key_id, id DESC);
-- The expiry sweep only looks at links that may still expire.
CREATE INDEX urls_pending_expiry_idx ON urls (expiry_date) WHERE is_expired = false AND expiry_date IS NOT NULL;

CREATE TABLE url_daily_clicks (
  url_id  bigint NOT NULL REFERENCES urls (id) ON DELETE CASCADE,
  day     date NOT NULL,
  clicks  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (url_id, day)
);

CREATE TABLE url_referrers (
  url_id  bigint NOT NULL REFERENCES urls (id) ON DELETE CASCADE,
  host    varchar(255) NOT NULL,
  clicks  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (url_id, host)
);
