-- wrk script for urna's benchmark. URNA_BENCH_MODE=vote posts votes for a
-- random option of URNA_BENCH_OPTIONS (comma-separated ids); `keyed` does
-- the same with a new Idempotency-Key on each vote; `pow` also sends, on
-- each vote, the next solved challenge of the file URNA_BENCH_POW (one
-- X-Urna-Pow value a line; each thread takes its own lines); any other mode
-- sends plain GETs. Answers are counted by wrk itself (`ok`: 2xx/3xx,
-- `other`: the rest), so the load generator does the same work in every
-- run whatever the answers' size.
local mode = os.getenv("URNA_BENCH_MODE") or "get"
local ids = {}
for id in string.gmatch(os.getenv("URNA_BENCH_OPTIONS") or "1", "%d+") do
  table.insert(ids, id)
end

local threads = {}
function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

local proofs, next_proof, counter = {}, 1, 0
function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
  if mode == "pow" then
    local n, i = tonumber(os.getenv("URNA_BENCH_THREADS") or "2"), 0
    for line in io.lines(os.getenv("URNA_BENCH_POW")) do
      if i % n == index then table.insert(proofs, line) end
      i = i + 1
    end
  end
end

if mode == "vote" or mode == "keyed" or mode == "pow" then
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end
if mode == "vote" then
  -- Plain votes are built once, in init, for options drawn at random, and
  -- sent in turn: building each request in Lua cost wrk ~2 us a vote on the
  -- cores it shares with the server, where the ceiling's GETs cost it none.
  local built, turn = {}, 0
  local plain_init = init
  init = function(args)
    plain_init(args)
    for i = 1, 1024 do
      built[i] = wrk.format(nil, nil, nil, '{"option_id":' .. ids[math.random(#ids)] .. '}')
    end
  end
  request = function()
    turn = turn % #built + 1
    return built[turn]
  end
elseif mode == "keyed" or mode == "pow" then
  request = function()
    -- wrk.format takes these headers instead of wrk.headers: copy those in.
    local headers = {}
    for k, v in pairs(wrk.headers) do headers[k] = v end
    if mode == "keyed" then
      counter = counter + 1
      headers["Idempotency-Key"] = "t" .. index .. "-" .. counter .. "-" .. math.random(1e9)
    elseif mode == "pow" then
      headers["X-Urna-Pow"] = proofs[next_proof] or proofs[#proofs]
      next_proof = next_proof + 1
    end
    return wrk.format(nil, nil, headers, '{"option_id":' .. ids[math.random(#ids)] .. '}')
  end
end

-- No `response` callback: with one, wrk hands every answer's headers and
-- body to Lua, and the load generator (on the server's cores) pays for the
-- size of the answers. wrk counts answers that are not 2xx/3xx itself.
function done(summary, latency, requests)
  local t_other = summary.errors.status
  local t_ok = summary.requests - t_other
  io.write(string.format("URNA ok=%d other=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d\n",
    t_ok, t_other, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
