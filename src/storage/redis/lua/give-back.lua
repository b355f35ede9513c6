-- Takes codes back from used_keys. Only codes that are in used_keys (and not already cooling down)
-- count. With a release time they stay in used_keys (so nothing can generate or claim them) and wait
-- in a cool-down sorted set; without one they are released at once.
-- KEYS[1] available_keys (set)   KEYS[2] used_keys (set)
-- KEYS[3] cooldown_recycle (zset: code -> release time ms; these return to available_keys)
-- KEYS[4] cooldown_release (zset: code -> release time ms; aliases: they only leave used_keys)
-- ARGV[1] release time in ms, or 0 for at once
-- ARGV[2] R, how many of the following codes are to be recycled; the rest are to be released
-- ARGV[3..] codes
-- Returns how many codes were taken back.
local release_at = tonumber(ARGV[1])
local recycle_count = tonumber(ARGV[2])
local taken_back = 0
for i = 3, #ARGV do
  local code = ARGV[i]
  local recycle = (i - 2) <= recycle_count
  if redis.call('SISMEMBER', KEYS[2], code) == 1
    and redis.call('ZSCORE', KEYS[3], code) == false
    and redis.call('ZSCORE', KEYS[4], code) == false then
    if release_at == 0 then
      redis.call('SREM', KEYS[2], code)
      if recycle then redis.call('SADD', KEYS[1], code) end
    elseif recycle then
      redis.call('ZADD', KEYS[3], release_at, code)
    else
      redis.call('ZADD', KEYS[4], release_at, code)
    end
    taken_back = taken_back + 1
  end
end
return taken_back
