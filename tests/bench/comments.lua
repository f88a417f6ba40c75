-- wrk script for tests/bench/http-bench: POSTs comment forms whose texts
-- come from a pool file (CM_BENCH_POOL: one url-encoded comment per line,
-- picked from ../shared/data/ by http-bench). Each request is a distinct
-- comment from a distinct author and address, as in a real stream:
--   * the text gets " (RUN-N)" appended, or the swarm rule (the same text
--     more than 4 times in 10 minutes) would reject repeats across rounds;
--   * the email is unique, so each author is new to the reputation rules;
--   * X-Forwarded-For (trusted by every benchmark nginx through realip)
--     names one address of CM_BENCH_NET ("FIRST_ADDRESS_AS_INTEGER SIZE"),
--     so per-address floods and per-network rejections stay apart between
--     the paths. These addresses are header text only: no traffic goes there.
-- With CM_BENCH_SAME=1 every request posts the pool's first text unchanged,
-- as a bot swarm does.
-- done() prints one line "cmbench requests=... p50_us=... p99_us=..."
-- for http-bench to read.

local texts = {}
local run = os.getenv("CM_BENCH_RUN") or "0"
local net_first, net_size = 0, 1

local f = assert(io.open(os.getenv("CM_BENCH_POOL") or "", "r"))
for line in f:lines() do
  if #line > 0 then texts[#texts + 1] = line end
end
f:close()
assert(#texts > 0, "empty pool")

do
  local a, b = (os.getenv("CM_BENCH_NET") or ""):match("^(%d+) (%d+)$")
  if a then net_first, net_size = tonumber(a), tonumber(b) end
end

local function address(n)
  local v = net_first + n % net_size
  return string.format("%d.%d.%d.%d", math.floor(v / 16777216) % 256,
                       math.floor(v / 65536) % 256, math.floor(v / 256) % 256,
                       v % 256)
end

local n = 0
local same = os.getenv("CM_BENCH_SAME") == "1"

request = function()
  n = n + 1
  local text = same and texts[1]
               or texts[n % #texts + 1] .. "+%28" .. run .. "-" .. n .. "%29"
  local body = "name=Pembaca&email=r" .. run .. "n" .. n
               .. "%40example.id&article_id=1&comment=" .. text
  -- a new table each time: wrk.format stores Content-Length in it
  return wrk.format("POST", wrk.path,
                    { ["Content-Type"] = "application/x-www-form-urlencoded",
                      ["X-Forwarded-For"] = address(n) }, body)
end

done = function(summary, latency, requests)
  io.write(string.format(
    "cmbench requests=%d duration_us=%d p50_us=%d p99_us=%d "
    .. "errors_connect=%d errors_read=%d errors_timeout=%d non2xx=%d\n",
    summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), summary.errors.connect, summary.errors.read,
    summary.errors.timeout, summary.errors.status))
end
