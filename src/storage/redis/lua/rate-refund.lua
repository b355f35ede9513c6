-- Takes back one hit of a fixed-window rate limit (rate-limit.lua), never below zero, and never
-- creates the counter: a window that has ended (its key expired) has nothing to take back.
-- KEYS[1] the counter for (subject, window)
-- Returns the count left, or -1 when there was no counter.
local count = tonumber(redis.call('GET', KEYS[1]) or '-1')
if count <= 0 then
  return -1
end
return redis.call('DECR', KEYS[1])
