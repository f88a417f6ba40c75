-- The number of comments in each state, for the review page's tabs.
-- ARGV[1] P.  Returns a JSON object.
local counts = {}
for _, state in ipairs({'pending', 'rejected', 'approved', 'release-failed',
                        'releasing'}) do
  counts[state] = redis.call('ZCARD', P .. 'q:' .. state)
end
return cjson.encode(counts)
