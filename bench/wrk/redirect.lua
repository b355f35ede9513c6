-- wrk script: GET one path after another from PATHS_FILE (one path per line, without the leading
-- "/"), each thread from its own offset, cycling; or the fixed path FIXED_PATH. Counts answers by
-- status and those whose status is not EXPECT_STATUS (302) or whose Location does not start with
-- LOCATION_PREFIX (common.lua). Prints one line "WRK_JSON {...}" at the end.
--   ONCE=1: each thread requests its share of the file once and then stops (cold runs).
--   AUTHORIZATION: sent as the Authorization header (the KGS bench: GET /codes).
--   CHECK=0: answers are not read by Lua, the lightest load wrk can make (the references).
--   RATE, DELAY_MS, CATCHUP_MS: pacing (common.lua, common.pacer).
--   UA_FILE: a User-Agent per request, rotating over the file's lines (bench/wrk/user-agents.txt:
--     "<label><TAB><User-Agent>", label mobile, desktop, tablet or bot; "#" lines and blank lines
--     skipped; a line repeated is a User-Agent weighted). The label is stripped; requests sent with
--     a "bot" line are counted, and the JSON line gets "agents":{"sent":N,"bots":N}: every request
--     written, so that the caller can tell bot hits from clicks exactly when the server served all
--     of them. Without UA_FILE no User-Agent is sent and request() is the same function as before.
local common = dofile(os.getenv("WRK_SCRIPTS") .. "/common.lua")

local paths = {}
local next_index, last_index = 1, 0
local once = os.getenv("ONCE") == "1"
local headers = {}
if os.getenv("AUTHORIZATION") then headers["Authorization"] = os.getenv("AUTHORIZATION") end

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

-- With UA_FILE the request above is wrapped; without it nothing here runs per request.
local ua_file = os.getenv("UA_FILE")
local agents, agent_is_bot, agent_index = {}, {}, 0
-- wrk calls request() once on the first thread's state before the run, to check the request it
-- builds (script_verify_request), and never sends that one: it is not counted.
local unsent = 0
-- Per thread, read by done() through thread:get.
sent, bots = 0, 0

local function load_agents()
  for line in io.lines(ua_file) do
    if #line > 0 and line:sub(1, 1) ~= "#" then
      local label, agent = line:match("^(%a+)\t(.+)$")
      if agent == nil then error("UA_FILE: not \"<label><TAB><User-Agent>\": " .. line) end
      agents[#agents + 1] = agent
      agent_is_bot[#agents] = label == "bot"
    end
  end
  if #agents == 0 then error("UA_FILE " .. ua_file .. " has no User-Agent") end
  -- Each thread starts at its own place in the rotation.
  local count = tonumber(os.getenv("THREADS") or "1")
  agent_index = (id * math.floor(#agents / count)) % #agents
  if id == 0 then unsent = 1 end
end

if ua_file then
  local read_paths, next_request = init, request
  init = function(args)
    read_paths(args)
    load_agents()
  end
  request = function()
    agent_index = agent_index + 1
    if agent_index > #agents then agent_index = 1 end
    headers["User-Agent"] = agents[agent_index]
    if unsent > 0 then
      unsent = 0
    else
      if agent_is_bot[agent_index] then bots = bots + 1 end
      sent = sent + 1
    end
    return next_request()
  end
end

-- Defined only when wanted: wrk skips what a script does not define (no pacing, no reading answers).
delay = common.pacer()
if os.getenv("CHECK") ~= "0" then
  response = function(status, answer_headers) common.check(status, answer_headers) end
end

function done(summary, latency, requests)
  local extra = nil
  if ua_file then extra = string.format('"agents":{"sent":%d,"bots":%d}', common.sum("sent"), common.sum("bots")) end
  common.report(summary, latency, extra)
end
