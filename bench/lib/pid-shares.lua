-- wrk script for bench/accept-bursts.mjs: a new connection per request, and each
-- response body (the serving worker's pid) counted; `done` prints `pid P N` per
-- worker and `requests N seconds S`.
wrk.headers["Connection"] = "close"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counts = {} end
function response(status, headers, body) counts[body] = (counts[body] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for pid, n in pairs(t:get("counts")) do total[pid] = (total[pid] or 0) + n end
  end
  for pid, n in pairs(total) do io.write(string.format("pid %s %d\n", pid, n)) end
  io.write(string.format("requests %d seconds %f errors %d\n", summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
