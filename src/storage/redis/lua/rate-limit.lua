-- Fixed-window rate limit shared by every replica: counts a request in the current window and
-- reports whether it is within the limit.
-- KEYS[1] the counter for (subject, window)
-- ARGV[1] the limit   ARGV[2] window length in ms
-- Returns { allowed (1/0), ms until the window resets }
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
if count > tonumber(ARGV[1]) then
  return { 0, ttl }
end
return { 1, ttl }
