-- wrk script: POST /emit-label, one label per request, a URI never used before
-- (run id from env BENCH_RUN, wrk thread number, per-thread counter).
-- The admin key comes from env LABELER_ADMIN_TOKEN.
local run = os.getenv("BENCH_RUN") or tostring(os.time())
local token = os.getenv("LABELER_ADMIN_TOKEN") or error("LABELER_ADMIN_TOKEN is not set")
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

local counter = 0
local headers = { ["Content-Type"] = "application/json", ["X-Moderation-Key"] = token }

function request()
  counter = counter + 1
  local body = string.format('{"uri":"at://did:plc:wrkbench%s/fm.plyr.track/t%d-%d","val":"%s"}',
    run, tid, counter, (counter % 3 == 0) and "spam" or "copyright-violation")
  return wrk.format("POST", "/emit-label", headers, body)
end


function done(summary, latency, requests)
  io.write(string.format("emitted %d requests, errors: connect %d read %d write %d status %d timeout %d\n",
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout))
end
