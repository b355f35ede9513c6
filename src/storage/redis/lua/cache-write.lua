-- Writes lookup-cache entries under the cache epoch (redis-cache-epoch.ts says why epochs exist), in
-- one round trip for every write of one shard in a turn of the event loop, in the order they were made.
-- An entry is "<epoch>|<body>", body being the link (JSON), "-" (no such code) or "?" (a blocker:
-- read as a miss, and no fill may replace it). An entry of another epoch than the current one is
-- read as a miss and counts as absent here.
-- KEYS[1] cache_epoch (absent = 0) of the entries' shard   KEYS[2..] url:<code>, in KEYS[1]'s hash slot
-- ARGV[1] TTL of a blocker in seconds; then four for each entry, KEYS[i] taking ARGV[4i-6 .. 4i-3]:
--   mode: "fill" (a lookup caching what it read from PostgreSQL) or "put" (a new state: creation,
--         update, deletion, the visit that used up a limited link), "put:<link id>:<version>" for a
--         put that must not replace a newer state: changes of a link reach Redis in any order, and
--         PostgreSQL's row lock ordered them by version (migrations/017_link_version.sql)
--   the epoch the writer knew (for a fill, when its lookup began), body, TTL in seconds
-- Returns the current epoch, which the writers adopt.
local current = tonumber(redis.call('GET', KEYS[1]) or '0')

-- The link and version an entry's body holds: "[id,url,expires,flags,version]" or a deletion's
-- "-<id>:<version>"; nil for one without ("-", "?", a link an earlier release wrote).
local function order_of(body)
  local id, version = string.match(body, '^%-(%d+):(%d+)$')
  if id then return tonumber(id), tonumber(version) end
  if string.sub(body, 1, 1) == '[' then
    local ok, link = pcall(cjson.decode, body)
    if ok and type(link) == 'table' and type(link[1]) == 'number' and type(link[5]) == 'number' then return link[1], link[5] end
  end
  return nil
end

-- Whether a put of link `id` at `version` may replace what the key holds under the current epoch:
-- not a newer state of the same link, nor any state of a later link on the code (ids only grow).
local function newest(key, id, version)
  local existing = redis.call('GET', key)
  if not existing then return true end
  local tag, body = string.match(existing, '^(%-?%d+)|(.*)$')
  if not (tag and tonumber(tag) == current) then return true end
  local held_id, held_version = order_of(body)
  if not held_id then return true end
  return id > held_id or (id == held_id and version >= held_version)
end

for i = 2, #KEYS do
  local a = 4 * i - 6
  local mode, writer, body, ttl = ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2], ARGV[a + 3]
  if mode == 'fill' then
    -- A lookup that began under another epoch may have read PostgreSQL before a lost invalidation.
    -- A valid entry (a state written by a change, a tombstone, a blocker) is never replaced by a fill.
    if writer == current then
      local existing = redis.call('GET', KEYS[i])
      local tag = existing and string.match(existing, '^(%-?%d+)|')
      if not (tag and tonumber(tag) == current) then
        redis.call('SET', KEYS[i], current .. '|' .. body, 'EX', ttl)
      end
    end
  elseif writer == current then
    local id, version = string.match(mode, '^put:(%d+):(%d+)$')
    if not id or newest(KEYS[i], tonumber(id), tonumber(version)) then
      redis.call('SET', KEYS[i], current .. '|' .. body, 'EX', ttl)
    end
  else
    -- The writer is behind the epoch, or this write waited in a hung connection while the epoch
    -- moved: it may be older than what the epoch stands for. Readers go to PostgreSQL for a while,
    -- and no fill (which may have read the row before this change) can cache the code meanwhile.
    redis.call('SET', KEYS[i], current .. '|?', 'EX', ARGV[1])
  end
end
return current
