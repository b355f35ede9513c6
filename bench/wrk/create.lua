-- wrk script: POST /urls with the JSON body BODY_TEMPLATE, "{n}" replaced by a number unique across
-- threads; AUTHORIZATION, when set, is sent as the Authorization header. Counts answers by status and
-- those that are not 201. RECORD_FILE, when set: each thread appends "code<TAB>url" of every link it
-- created to RECORD_FILE.<thread id>. Prints one line "WRK_JSON {...}" at the end.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local template = os.getenv("BODY_TEMPLATE")
local headers = { ["Content-Type"] = "application/json" }
local record = nil
local n = 0
statuses = {}
wrong = 0
stopped = 0

function init(args)
  if os.getenv("AUTHORIZATION") then headers["Authorization"] = os.getenv("AUTHORIZATION") end
  if os.getenv("RECORD_FILE") then record = io.open(os.getenv("RECORD_FILE") .. "." .. id, "w") end
end

function request()
  n = n + 1
  local body = template:gsub("{n}", id .. "-" .. n)
  return wrk.format("POST", "/urls", headers, body)
end

function response(status, response_headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status ~= 201 then
    wrong = wrong + 1
  elseif record then
    local code = body:match('"short_code":"([^"]+)"')
    local url = body:match('"original_url":"([^"]+)"')
    record:write(code, "\t", url, "\n")
    record:flush()
  end
end

function done(summary, latency, requests)
  local all_statuses, all_wrong = {}, 0
  for _, thread in ipairs(threads) do
    for status, k in pairs(thread:get("statuses")) do all_statuses[status] = (all_statuses[status] or 0) + k end
    all_wrong = all_wrong + thread:get("wrong")
  end
  local parts = {}
  for status, k in pairs(all_statuses) do parts[#parts + 1] = string.format('"%s":%d', status, k) end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"errors":%d,"wrong":%d,"stopped":0,"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, all_wrong, table.concat(parts, ",")))
end
