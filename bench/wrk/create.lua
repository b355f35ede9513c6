-- wrk script: POST /urls with the JSON body BODY_TEMPLATE, "{n}" replaced by a number unique across
-- threads; AUTHORIZATION, when set, is sent as the Authorization header. Counts answers by status and
-- those that are not EXPECT_STATUS (201; common.lua). RECORD_FILE, when set: each thread appends
-- "code<TAB>url" of every link it created to RECORD_FILE.<thread id>. Prints one line
-- "WRK_JSON {...}" at the end. RATE, DELAY_MS, CATCHUP_MS: pacing (common.lua, common.pacer).
local common = dofile(os.getenv("WRK_SCRIPTS") .. "/common.lua")
common.expect = tonumber(os.getenv("EXPECT_STATUS") or "201")

local template = os.getenv("BODY_TEMPLATE")
local headers = { ["Content-Type"] = "application/json" }
local record = nil
local n = 0

function init(args)
  if os.getenv("AUTHORIZATION") then headers["Authorization"] = os.getenv("AUTHORIZATION") end
  if os.getenv("RECORD_FILE") then record = io.open(os.getenv("RECORD_FILE") .. "." .. id, "w") end
end

function request()
  n = n + 1
  local body = template:gsub("{n}", id .. "-" .. n)
  return wrk.format("POST", "/urls", headers, body)
end

delay = common.pacer()

function response(status, response_headers, body)
  common.check(status, response_headers)
  if status == 201 and record then
    local code = body:match('"short_code":"([^"]+)"')
    local url = body:match('"original_url":"([^"]+)"')
    record:write(code, "\t", url, "\n")
    record:flush()
  end
end

function done(summary, latency, requests)
  common.report(summary, latency)
end
