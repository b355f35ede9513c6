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

return common
