-- Hands out up to N codes: moves them from available_keys to used_keys in one atomic step, so two
-- callers (on any number of KGS replicas) can never receive the same code.
-- KEYS[1] available_keys (set)   KEYS[2] used_keys (set)
-- ARGV[1] N, how many codes to take (1..1000)
-- Returns { remaining size of available_keys, { codes... } }
local codes = redis.call('SPOP', KEYS[1], tonumber(ARGV[1]))
for i = 1, #codes do
  redis.call('SADD', KEYS[2], codes[i])
end
return { redis.call('SCARD', KEYS[1]), codes }
