-- bench/api-wrk.lua: wrk's script for bench/run's api measurement. POSTs
-- v1 events to sg-api's /events: one per request (application/json) or a
-- batch of SG_BATCH lines (application/x-ndjson), cycling through 500
-- prepared requests per thread with distinct event ids. Environment:
--   SG_TOKEN     an ingest token
--   SG_BATCH     events per request (default 1)
--   SG_DELAY_MS  pause before each request of a connection (default 0:
--                none). wrk is closed-loop: a connection waits for its
--                answer, so this paces the rate, it does not fix it.
--   SG_OUT       where done() writes its JSON summary
--   SG_GET       instead: GET this path, no token (the ceiling: sg-api's
--                GET /healthz, HTTP alone, no validation, Kafka or database)
-- Event ids: 500 distinct requests per thread, cycled (ids repeat: the
-- producer path does not deduplicate; the consumers would).
local token = os.getenv("SG_TOKEN")
local get_path = os.getenv("SG_GET")
local batch = tonumber(os.getenv("SG_BATCH") or "1")
local delay_ms = tonumber(os.getenv("SG_DELAY_MS") or "0")
local out = os.getenv("SG_OUT")
local threads = 0
local reqs = {}
local next_req = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  if get_path and get_path ~= "" then
    reqs[1] = wrk.format("GET", get_path)
    return
  end
  local ctype = batch == 1 and "application/json" or "application/x-ndjson"
  local hdr = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = ctype }
  local k = 0
  for i = 1, 500 do
    local lines = {}
    for j = 1, batch do
      k = k + 1
      lines[j] = string.format(
        '{"event_id":"b%07x-%04x-4000-8000-%012x","user_id":"5d2f7a4e-9b61-4f0a-8c7d-%012x",' ..
        '"event_type":"page_view","event_timestamp":"2026-01-02T12:34:56.123Z","country":"DE",' ..
        '"has_consent":true,"device_id":"web_%06x","ip_address":"203.0.113.%d",' ..
        '"metadata":{"app_version":"1.2.3","network_type":"wifi"}}',
        tid, i, k, k % 10000, k % 4096, k % 250 + 1)
    end
    reqs[i] = wrk.format("POST", "/events", hdr, table.concat(lines, "\n"))
  end
end

function request()
  next_req = next_req % #reqs + 1
  return reqs[next_req]
end

if delay_ms > 0 then
  delay = function() return delay_ms end
end

function done(summary, latency, requests)
  local e = summary.errors
  local f = assert(io.open(out, "w"))
  f:write(string.format(
    '{"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
  f:close()
end
