-- wrk script: optional 1 MiB POST body (UPLOAD=1), and a one-line JSON summary at
-- the end so the harness parses numbers, not wrk's human-readable text.
if os.getenv("UPLOAD") == "1" then
  wrk.method = "POST"
  wrk.body = string.rep("a", 1048576)
  wrk.headers["Content-Type"] = "application/octet-stream"
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
