-- Ends the cool-down of returned codes whose release time has passed: recycled codes move from
-- used_keys back to available_keys, released aliases just leave used_keys. Bounded per call.
-- KEYS[1] available_keys   KEYS[2] used_keys   KEYS[3] cooldown_recycle   KEYS[4] cooldown_release
-- ARGV[1] now in ms   ARGV[2] the most codes to release in this call
-- Returns how many codes were released.
local released = 0
local limit = tonumber(ARGV[2])
for z = 3, 4 do
  local due = redis.call('ZRANGE', KEYS[z], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, limit - released)
  for i = 1, #due do
    redis.call('ZREM', KEYS[z], due[i])
    if redis.call('SREM', KEYS[2], due[i]) == 1 and z == 3 then
      redis.call('SADD', KEYS[1], due[i])
    end
    released = released + 1
  end
  if released >= limit then break end
end
return released
