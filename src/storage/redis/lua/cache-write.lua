-- Writes one lookup-cache entry under the cache epoch (redis-cache-epoch.ts says why epochs exist).
-- An entry is "<epoch>|<body>", body being the link (JSON), "-" (no such code) or "?" (a blocker:
-- read as a miss, and no fill may replace it). An entry of another epoch than the current one is
-- read as a miss and counts as absent here.
-- KEYS[1] url:<code>    KEYS[2] cache_epoch (absent = 0), of the entry's shard (one hash slot with KEYS[1])
-- ARGV[1] "fill" (a lookup caching what it read from PostgreSQL) or "put" (a new state: creation,
--         update, deletion, the visit that used up a limited link)
-- ARGV[2] the epoch the writer knew: for a fill, when its lookup began
-- ARGV[3] body   ARGV[4] TTL in seconds   ARGV[5] TTL of a blocker in seconds
-- Returns the current epoch, which the writer adopts.
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
local writer = tonumber(ARGV[2])
if ARGV[1] == 'fill' then
  -- A lookup that began under another epoch may have read PostgreSQL before a lost invalidation.
  if writer ~= current then return current end
  -- A valid entry (a state written by a change, a tombstone, a blocker) is never replaced by a fill.
  local existing = redis.call('GET', KEYS[1])
  local tag = existing and string.match(existing, '^(%-?%d+)|')
  if tag and tonumber(tag) == current then return current end
  redis.call('SET', KEYS[1], current .. '|' .. ARGV[3], 'EX', ARGV[4])
elseif writer == current then
  redis.call('SET', KEYS[1], current .. '|' .. ARGV[3], 'EX', ARGV[4])
else
  -- The writer is behind the epoch, or this write waited in a hung connection while the epoch
  -- moved: it may be older than what the epoch stands for. Readers go to PostgreSQL for a while,
  -- and no fill (which may have read the row before this change) can cache the code meanwhile.
  redis.call('SET', KEYS[1], current .. '|?', 'EX', ARGV[5])
end
return current
