-- wrk script for bench/rush.sh: the opening rush. Each thread sends, in
-- turn, what a new visitor's browser sends: the voting page, its
-- stylesheet, boot.js, the voting page bundle (vote.js, vote.wasm; a first
-- visit: nothing cached; brotli accepted, as browsers do), the poll, and
-- one vote. URNA_RUSH_SLUG is the poll, URNA_RUSH_OPTION the option voted
-- for, URNA_RUSH_MANIFEST the site's pkg/manifest.json (hashed names).
-- URNA_RUSH_CACHED=1: a returning visitor, whose browser has the assets
-- (immutable) and sends only the page, the poll and the vote.
-- Answers are counted by wrk (`ok`: 2xx/3xx, `other`: the rest).
local slug = os.getenv("URNA_RUSH_SLUG") or "demo"
local option = os.getenv("URNA_RUSH_OPTION") or "1"
local manifest = io.open(os.getenv("URNA_RUSH_MANIFEST")):read("*a")
local function hashed(name)
  return "/pkg/" .. string.match(manifest, '"' .. string.gsub(name, "%.", "%%.") .. '": "([^"]+)"')
end

local steps = {
  { "GET", "/p/" .. slug },
  { "GET", hashed("urna.css") },
  { "GET", hashed("boot.js") },
  { "GET", hashed("vote.js") },
  { "GET", hashed("vote.wasm") },
  { "GET", "/api/polls/" .. slug },
  { "POST", "/api/polls/" .. slug .. "/votes", '{"option_id":' .. option .. '}' },
}
if os.getenv("URNA_RUSH_CACHED") == "1" then
  steps = { steps[1], steps[6], steps[7] }
end

local next_step = 0
function request()
  next_step = next_step % #steps + 1
  local s = steps[next_step]
  local headers = { ["Accept-Encoding"] = "br, gzip", ["Accept-Language"] = "pt-BR,pt;q=0.9" }
  if s[1] == "POST" then headers["Content-Type"] = "application/json" end
  return wrk.format(s[1], s[2], headers, s[3])
end

function done(summary, latency, requests)
  local other = summary.errors.status
  io.write(string.format("URNA ok=%d other=%d rps=%.0f visitors=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d bytes_per_s=%.0f\n",
    summary.requests - other, other, summary.requests / (summary.duration / 1e6),
    summary.requests / #steps / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.bytes / (summary.duration / 1e6)))
end
