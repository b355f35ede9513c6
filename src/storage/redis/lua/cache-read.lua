-- Reads one lookup-cache entry with the current cache epoch and what is left of the entry's own
-- lifetime, in one round trip: the tiered cache keeps a far hit in this process no longer than that
-- (reading never extends an entry's lifetime, see src/storage/tiered-link-cache.ts).
-- KEYS[1] url:<code>    KEYS[2] cache_epoch (absent = 0), of the entry's shard (one hash slot with KEYS[1])
-- Returns { entry or nil, epoch or nil, PTTL of the entry in ms (-2 absent, -1 no expiry) }.
return { redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]), redis.call('PTTL', KEYS[1]) }
