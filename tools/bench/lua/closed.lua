-- Closed loop (saturation): wrk's own loop, no per-response Lua. At the end, one line of
-- totals and wrk's latency histogram (microseconds:count), parsed by tools/bench/wrk.ts.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH summary duration_us=%d requests=%d bytes=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout))
  local parts = {}
  for i = 1, #latency do
    local v, c = latency(i)
    parts[#parts + 1] = string.format("%d:%d", v, c)
  end
  io.write("BENCH hist " .. table.concat(parts, ",") .. "\n")
end
