-- wrk script: GET one path after another from PATHS_FILE (one path per line, without the leading
-- "/"), each thread from its own offset; or the fixed path FIXED_PATH. Counts answers by status and
-- those whose status is not EXPECT_STATUS or whose Location does not start with LOCATION_PREFIX.
-- ONCE=1: each thread requests its share of the file once and then stops (cold runs).
-- AUTHORIZATION, when set, is sent as the Authorization header (the KGS bench: GET /codes).
-- CHECK=0: answers are not read by Lua (wrk's own count of statuses >= 400 stands for the wrong
-- ones): the lightest load wrk can make, for the references.
-- Prints one line "WRK_JSON {...}" at the end.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local paths = {}
local next_index, last_index = 1, 0
local expect = tonumber(os.getenv("EXPECT_STATUS") or "302")
local prefix = os.getenv("LOCATION_PREFIX") or ""
local once = os.getenv("ONCE") == "1"
local headers = {}
if os.getenv("AUTHORIZATION") then headers["Authorization"] = os.getenv("AUTHORIZATION") end
statuses = {}
wrong = 0
stopped = 0

function init(args)
  local fixed = os.getenv("FIXED_PATH")
  if fixed then
    paths[1] = "/" .. fixed
  else
    for line in io.lines(os.getenv("PATHS_FILE")) do
      if #line > 0 then paths[#paths + 1] = "/" .. line end
    end
  end
  local count = tonumber(os.getenv("THREADS") or "1")
  local share = math.floor(#paths / count)
  if once then
    next_index = id * share + 1
    last_index = next_index + share - 1
  else
    next_index = (id * share) % #paths + 1
    last_index = #paths
  end
end

function request()
  local path = paths[next_index]
  if once and next_index > last_index then
    if stopped == 0 then
      -- wrk runs for its whole duration even when every thread has stopped: this line tells the
      -- caller (bench/lib/wrk.ts) to end it with SIGINT, upon which wrk reports as usual.
      io.write("WRK_THREAD_DONE\n")
      io.stdout:flush()
    end
    stopped = 1
    wrk.thread:stop()
    path = paths[last_index]
  end
  next_index = next_index + 1
  if not once and next_index > #paths then next_index = 1 end
  return wrk.format("GET", path, headers)
end

local function check(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status ~= expect then
    wrong = wrong + 1
  elseif prefix ~= "" then
    local location = headers["Location"] or headers["location"]
    if location == nil or location:sub(1, #prefix) ~= prefix then wrong = wrong + 1 end
  end
end

if os.getenv("CHECK") ~= "0" then response = check end

function done(summary, latency, requests)
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
    parts = { string.format('"%d":%d', expect, summary.requests - e.status) }
  end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"errors":%d,"wrong":%d,"stopped":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, all_wrong, all_stopped, table.concat(parts, ",")))
end
