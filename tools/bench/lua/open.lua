-- Open loop at a fixed rate, on Debian's wrk (wrk2 is not in Debian): run with as many
-- threads as connections (wrk -t N -c N -s open.lua URL -- RATE_PER_CONNECTION N), so
-- each thread's Lua state owns exactly one connection and can pair each response with
-- its request. Every connection follows its own schedule of intended send times
-- (t0 + k / rate, phases spread over the connections). A request that could be sent on
-- time is timed from when it was actually written; one that was due while the
-- connection was still waiting for the previous answer is timed from when it was due
-- (coordinated omission corrected: a stall counts against every request it delayed).
-- At the end: totals and a latency histogram (microseconds:count) for tools/bench/wrk.ts.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

-- Main state: number the threads and collect their histograms at the end.
local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
  thread:set("id", #threads)
end

-- Thread state (one connection each).
local interval, t0, k, due, sent, late, req
hist, ok, bad, behind = {}, 0, 0, 0
function init(args)
  local rate = tonumber(args[1])
  local n = tonumber(args[2]) or 1
  if not rate or rate <= 0 then error("open.lua: expected a rate per connection > 0, got " .. tostring(args[1])) end
  interval = 1000000 / rate
  t0 = now_us() + interval * (((id or 1) - 1) / n)
  k = 0
  req = wrk.format()
end

function delay()
  due = t0 + k * interval
  k = k + 1
  local n = now_us()
  if n >= due then
    late = true
    return 0
  end
  late = false
  return math.floor((due - n) / 1000)
end

function request()
  sent = now_us()
  return req
end

function response(status, headers, body)
  local start = sent
  if late then
    start = due
    behind = behind + 1
  end
  local us = math.floor(now_us() - start + 0.5)
  hist[us] = (hist[us] or 0) + 1
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
end

done = function(summary, latency, requests)
  local e = summary.errors
  local merged, okAll, badAll, behindAll = {}, 0, 0, 0
  for _, t in ipairs(threads) do
    local h = t:get("hist")
    for us, c in pairs(h) do merged[us] = (merged[us] or 0) + c end
    okAll = okAll + t:get("ok")
    badAll = badAll + t:get("bad")
    behindAll = behindAll + t:get("behind")
  end
  io.write(string.format(
    "BENCH summary duration_us=%d requests=%d bytes=%d connect=%d read=%d write=%d status=%d timeout=%d ok=%d bad=%d behind=%d\n",
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    okAll, badAll, behindAll))
  local keys = {}
  for us in pairs(merged) do keys[#keys + 1] = us end
  table.sort(keys)
  local parts = {}
  for _, us in ipairs(keys) do parts[#parts + 1] = string.format("%d:%d", us, merged[us]) end
  io.write("BENCH hist " .. table.concat(parts, ",") .. "\n")
end
