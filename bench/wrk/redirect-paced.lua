-- wrk script: redirect.lua at a paced rate (wrk itself has no rate option). GETs one path after
-- another from PATHS_FILE (one path per line, without the leading "/"), each thread from its own
-- offset, cycling; counts answers by status and those whose status is not EXPECT_STATUS or whose
-- Location does not start with LOCATION_PREFIX. Prints one line "WRK_JSON {...}" at the end.
--
-- Pacing, in delay() (called before every request of every connection):
--   RATE: requests per second for each thread. Each request claims the next free slot of a
--     schedule spaced 1000 / RATE ms apart and waits for it (monotonic clock through LuaJIT's ffi);
--     slots missed while wrk or the server were held up (a busy machine) are caught up for at most
--     CATCHUP_MS (default 50 ms) of them, so a stall brings a short burst, not an unbounded one. The
--     rate is met when connections > RATE × (latency + slot wait), else it is what the connections
--     allow (the caller reports the rate reached).
--   DELAY_MS (without RATE, or without ffi): a fixed wait before each request, so the rate is about
--     connections × 1000 / (DELAY_MS + latency).
-- wrk's timers have a resolution of 1 ms: a wait is rounded down, and the schedule, not the wait,
-- sets the long-run rate.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local paths = {}
local next_index = 1
local expect = tonumber(os.getenv("EXPECT_STATUS") or "302")
local prefix = os.getenv("LOCATION_PREFIX") or ""
local rate = tonumber(os.getenv("RATE") or "0")
local fixed_delay = tonumber(os.getenv("DELAY_MS") or "0")
local has_ffi, ffi = pcall(require, "ffi")
local clock = nil
local interval_ms = 0
local next_slot = 0
local catchup_ms = tonumber(os.getenv("CATCHUP_MS") or "50")
statuses = {}
wrong = 0

function init(args)
  for line in io.lines(os.getenv("PATHS_FILE")) do
    if #line > 0 then paths[#paths + 1] = "/" .. line end
  end
  local count = tonumber(os.getenv("THREADS") or "1")
  next_index = (id * math.floor(#paths / count)) % #paths + 1
  if rate > 0 and has_ffi then
    ffi.cdef[[
      typedef struct { long tv_sec; long tv_nsec; } curt_paced_timespec;
      int clock_gettime(int clk_id, curt_paced_timespec *tp);
    ]]
    local ts = ffi.new("curt_paced_timespec")
    clock = function()
      ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
      return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
    end
    interval_ms = 1000 / rate
  elseif rate > 0 and fixed_delay == 0 then
    error("RATE needs LuaJIT's ffi; set DELAY_MS instead")
  end
end

function delay()
  if clock == nil then return fixed_delay end
  local now = clock()
  if next_slot < now - catchup_ms then next_slot = now - catchup_ms end
  local wait = next_slot - now
  next_slot = next_slot + interval_ms
  if wait < 0 then return 0 end
  return math.floor(wait)
end

function request()
  local path = paths[next_index]
  next_index = next_index + 1
  if next_index > #paths then next_index = 1 end
  return wrk.format("GET", path)
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status ~= expect then
    wrong = wrong + 1
  elseif prefix ~= "" then
    local location = headers["Location"] or headers["location"]
    if location == nil or location:sub(1, #prefix) ~= prefix then wrong = wrong + 1 end
  end
end

function done(summary, latency, requests)
  local all_statuses, all_wrong = {}, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do all_statuses[status] = (all_statuses[status] or 0) + n end
    all_wrong = all_wrong + thread:get("wrong")
  end
  local parts = {}
  for status, n in pairs(all_statuses) do parts[#parts + 1] = string.format('"%s":%d', status, n) end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"errors":%d,"wrong":%d,"stopped":0,"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, all_wrong, table.concat(parts, ",")))
end
