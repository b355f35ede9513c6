-- What the wrk scripts of bench/wrk share (loaded with dofile from WRK_SCRIPTS, which
-- bench/lib/wrk.ts sets): threads numbered for their share of the paths and kept for done();
-- answers counted by status and checked; the one line "WRK_JSON {...}" that bench/lib/wrk.ts reads.
local common = {}
local threads = {}
local counter = 0
-- Per thread (read by done() through thread:get): answers by status, wrong answers, and 1 once the
-- thread ran out of paths (ONCE=1).
statuses = {}
wrong = 0
stopped = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

-- The status every answer must have (EXPECT_STATUS; the script sets its own default) and the start
-- of its Location (LOCATION_PREFIX, unchecked when empty).
common.expect = tonumber(os.getenv("EXPECT_STATUS") or "302")
common.prefix = os.getenv("LOCATION_PREFIX") or ""

function common.check(status, headers)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status ~= common.expect then
    wrong = wrong + 1
  elseif common.prefix ~= "" then
    local location = headers["Location"] or headers["location"]
    if location == nil or location:sub(1, #common.prefix) ~= common.prefix then wrong = wrong + 1 end
  end
end

-- A per-thread global summed over the threads (e.g. a script's own counters).
function common.sum(name)
  local total = 0
  for _, thread in ipairs(threads) do total = total + (thread:get(name) or 0) end
  return total
end

-- Without a response() (CHECK=0), wrk's own count of statuses >= 400 stands for the wrong answers.
-- `extra`: more JSON members for the line, already formatted ('"name":value,...'), or nil.
function common.report(summary, latency, extra)
  local all_statuses, all_wrong, all_stopped = {}, 0, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do all_statuses[status] = (all_statuses[status] or 0) + n end
    all_wrong = all_wrong + thread:get("wrong")
    all_stopped = all_stopped + thread:get("stopped")
  end
  local parts = {}
  for status, n in pairs(all_statuses) do parts[#parts + 1] = string.format('"%s":%d', status, n) end
  local e = summary.errors
  if response == nil then
    all_wrong = e.status
    parts = { string.format('"%d":%d', common.expect, summary.requests - e.status) }
  end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"errors":%d,"wrong":%d,"stopped":%d,"statuses":{%s}%s}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, all_wrong, all_stopped, table.concat(parts, ","),
    extra and ("," .. extra) or ""))
end

-- Pacing, for a script's delay() (wrk itself has no rate option); nil when no pacing is asked for,
-- so that wrk, which skips what a script does not define, waits for nothing.
--   RATE: requests per second for each thread: each request claims the next slot of a schedule
--     spaced 1000 / RATE ms apart and waits for it (monotonic clock through LuaJIT's ffi); slots
--     missed while wrk or the server were held up are caught up for at most CATCHUP_MS (50) of them,
--     so a stall brings a short burst, not an unbounded one. The rate is met when connections >
--     RATE × (latency + slot wait), else it is what the connections allow (the caller reports the
--     rate reached). wrk's timers have a resolution of 1 ms: a wait is rounded down, and the
--     schedule, not the wait, sets the rate.
--   DELAY_MS (without RATE, or without ffi): a fixed wait before each request.
function common.pacer()
  local rate = tonumber(os.getenv("RATE") or "0")
  local fixed_delay = tonumber(os.getenv("DELAY_MS") or "0")
  if rate <= 0 and fixed_delay <= 0 then return nil end
  if rate <= 0 then return function() return fixed_delay end end
  local has_ffi, ffi = pcall(require, "ffi")
  if not has_ffi then
    if fixed_delay == 0 then error("RATE needs LuaJIT's ffi; set DELAY_MS instead") end
    return function() return fixed_delay end
  end
  -- Declared once per Lua state: a second cdef of the same type is an error.
  if not pcall(ffi.typeof, "curt_timespec") then
    ffi.cdef[[
      typedef struct { long tv_sec; long tv_nsec; } curt_timespec;
      int clock_gettime(int clk_id, curt_timespec *tp);
    ]]
  end
  local ts = ffi.new("curt_timespec")
  local function clock()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local catchup_ms = tonumber(os.getenv("CATCHUP_MS") or "50")
  local interval_ms = 1000 / rate
  local next_slot = 0
  return function()
    local now = clock()
    if next_slot < now - catchup_ms then next_slot = now - catchup_ms end
    local wait = next_slot - now
    next_slot = next_slot + interval_ms
    if wait < 0 then return 0 end
    return math.floor(wait)
  end
end

return common
