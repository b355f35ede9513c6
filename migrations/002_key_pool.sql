-- The key pool kept in the database, for `curt serve` without REDIS_URL (on PGlite, or on PostgreSQL
-- when only DATABASE_URL is set). The design's two Redis sets, available_keys and used_keys, are one
-- table here: a code is in exactly one of them by construction (one row, one primary key), so every
-- KeyStore operation stays atomic as a single statement, even between concurrent processes.
CREATE TABLE key_pool (
  code        varchar(10) PRIMARY KEY,
  -- false: in available_keys. true: in used_keys (handed out, claimed as an alias, or cooling down).
  is_used     boolean NOT NULL,
  -- Hand-out order. Codes are generated at random, so insertion order is a random order.
  seq         bigint GENERATED ALWAYS AS IDENTITY,
  -- A returned code waiting out its cool-down: when it is released (epoch ms), and whether it then
  -- goes back to available (a generated code) or just leaves used (an alias, free to claim again).
  release_at  bigint,
  recycle     boolean,
  CHECK ((release_at IS NULL) = (recycle IS NULL)),
  CHECK (release_at IS NULL OR is_used)
);

-- Taking codes walks only the available ones, in hand-out order.
CREATE INDEX key_pool_available_idx ON key_pool (seq) WHERE NOT is_used;
-- Ending cool-downs looks only at codes that are cooling down.
CREATE INDEX key_pool_cooldown_idx ON key_pool (release_at) WHERE release_at IS NOT NULL;

-- Locks with expiry (one replenisher at a time), like the Redis `lock:` keys.
CREATE TABLE key_pool_locks (
  name        varchar(64) PRIMARY KEY,
  token       text NOT NULL,
  expires_at  timestamptz NOT NULL
);
