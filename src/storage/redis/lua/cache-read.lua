-- Reads lookup-cache entries with the current cache epoch and what is left of each entry's own
-- lifetime, in one round trip for every lookup of one shard in a turn of the event loop: the tiered
-- cache keeps a far hit in this process no longer than that (reading never extends an entry's
-- lifetime, see src/storage/tiered-link-cache.ts).
-- KEYS[1] cache_epoch (absent = 0) of the entries' shard   KEYS[2..] url:<code>, in KEYS[1]'s hash slot
-- Returns { epoch or nil, then for each entry: entry or nil, PTTL in ms (-2 absent, -1 no expiry) }.
local out = { redis.call('GET', KEYS[1]) }
for i = 2, #KEYS do
  out[#out + 1] = redis.call('GET', KEYS[i])
  out[#out + 1] = redis.call('PTTL', KEYS[i])
end
return out
