-- wrk script shared by every system under test: POST the body in BENCH_BODY with the headers in
-- BENCH_HEADERS (one "Name: value" per line; default: JSON content type only).
-- With BENCH_EXPECT set, a 200 answer whose body lacks that text (an unfinished stream) counts as bad.
-- Prints one machine-readable line in done():
--   "BENCH requests duration_us p50_us p99_us non2xx errors bad"
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(line, "^%s*([^:]+):%s*(.-)%s*$")
  if name then
    wrk.headers[name] = value
  end
end

local expect = os.getenv("BENCH_EXPECT")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
end

if expect and expect ~= "" then
  function response(status, headers, body)
    if status == 200 and not string.find(body, expect, 1, true) then
      bad = bad + 1
    end
  end
end

function done(summary, latency, requests)
  local total_bad = 0
  for _, thread in ipairs(threads) do
    total_bad = total_bad + (thread:get("bad") or 0)
  end
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout,
    total_bad))
end
