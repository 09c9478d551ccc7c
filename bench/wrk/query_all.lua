-- wrk script: GET queryLabels?uriPatterns=*&limit=50&cursor=C for a random cursor in
-- [0, MAX_CURSOR) (env QUERY_MAX_CURSOR, the log's head; default 1,000,000): 50 labels per answer.
-- env QUERY_LIMIT changes the limit (1-250).
local max_cursor = tonumber(os.getenv("QUERY_MAX_CURSOR") or "1000000")
local limit = os.getenv("QUERY_LIMIT") or "50"

function setup(thread) thread:set("seed", math.random(1, 1e9)) end
function init(args) math.randomseed(seed or os.time()) end

function request()
  local c = math.random(0, max_cursor - 1000)
  return wrk.format("GET", "/xrpc/com.atproto.label.queryLabels?uriPatterns=*&limit=" .. limit .. "&cursor=" .. c)
end
