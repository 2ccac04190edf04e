-- wrk script for urna's benchmark. URNA_BENCH_MODE=vote posts votes for a
-- random option of URNA_BENCH_OPTIONS (comma-separated ids); any other mode
-- sends plain GETs. Both count answers by status the same way, so the load
-- generator does the same work in every run.
local mode = os.getenv("URNA_BENCH_MODE") or "get"
local ids = {}
for id in string.gmatch(os.getenv("URNA_BENCH_OPTIONS") or "1", "%d+") do
  table.insert(ids, id)
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok = 0
  other = 0
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

if mode == "vote" then
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  request = function()
    return wrk.format(nil, nil, nil, '{"option_id":' .. ids[math.random(#ids)] .. '}')
  end
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local t_ok, t_other = 0, 0
  for _, t in ipairs(threads) do
    t_ok = t_ok + t:get("ok")
    t_other = t_other + t:get("other")
  end
  io.write(string.format("URNA ok=%d other=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d\n",
    t_ok, t_other, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
