-- Replenishment: adds fresh candidate codes to available_keys, skipping any that is already
-- available or used (used includes claimed aliases and codes cooling down), so a code is never
-- generated twice even if two replicas replenish at the same moment.
-- KEYS[1] available_keys (set)   KEYS[2] used_keys (set)
-- ARGV    candidate codes
-- Returns how many codes were added.
local added = 0
for i = 1, #ARGV do
  if redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 0 then
    added = added + redis.call('SADD', KEYS[1], ARGV[i])
  end
end
return added
