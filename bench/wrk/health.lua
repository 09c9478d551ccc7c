-- wrk script: GET /xrpc/_health through a Lua request() like the other scripts (a varying query
-- string the route ignores), so that wrk spends the same per-request work as in the
-- queryLabels and emit runs. Compare with a plain `wrk ... /xrpc/_health` (no script).
local counter = 0
function request()
  counter = counter + 1
  return wrk.format("GET", "/xrpc/_health?n=" .. counter)
end
