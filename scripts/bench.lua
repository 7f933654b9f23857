-- wrk script for scripts/bench.sh: sends the session cookie (BENCH_COOKIE) and Accept header
-- (BENCH_ACCEPT) on every request, and prints one machine-readable line at the end with the
-- throughput, latency percentiles (microseconds), the errors wrk counted in all (errors=) and
-- each kind of them (status = responses that were neither 2xx nor 3xx; bench.sh checks
-- beforehand that the route answers 200, not a redirect).
local cookie = os.getenv("BENCH_COOKIE")
if cookie ~= nil and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end
local accept = os.getenv("BENCH_ACCEPT")
if accept ~= nil and accept ~= "" then
  wrk.headers["Accept"] = accept
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d seconds=%.3f rps=%.1f p50_us=%d p99_us=%d max_us=%d errors=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.status + e.timeout,
    e.connect, e.read, e.write, e.status, e.timeout))
end
