-- Claims a custom alias: it becomes used (and so is never handed out or claimed again) unless it
-- already is. A code still in available_keys is taken out of the pool.
-- KEYS[1] available_keys (set)   KEYS[2] used_keys (set)
-- ARGV[1] the code
-- Returns 1 when claimed, 0 when already used.
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  return 0
end
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[1])
return 1
