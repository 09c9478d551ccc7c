-- wrk script: GET queryLabels with a prefix pattern at://did:plc:artistN/* for a random artist
-- that has labels in the synthetic log of `labeler debug generate` (subjects are
-- at://did:plc:artist{k % 5000}/fm.plyr.track/3k{k}; artists with k%10 == 7 only get context
-- events and those with k%20 == 3 only negations of other artists' labels). Each answer holds
-- the first 50 (default limit) of that artist's ~220 labels, with a cursor.
local artists = {}
for a = 0, 4999 do
  if a % 10 ~= 7 and a % 20 ~= 3 then table.insert(artists, a) end
end

function setup(thread) thread:set("seed", math.random(1, 1e9)) end
function init(args) math.randomseed(seed or os.time()) end

function request()
  local a = artists[math.random(#artists)]
  return wrk.format("GET", "/xrpc/com.atproto.label.queryLabels?uriPatterns=at://did:plc:artist" .. a .. "/*")
end
