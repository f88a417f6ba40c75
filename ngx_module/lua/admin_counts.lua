-- The number of comments in each state, for the review page's tabs and the
-- metrics: pending, rejected, approved, release-failed, releasing, in that
-- order (the module names them).
-- ARGV[1] P
local out = {}
for _, state in ipairs({'pending', 'rejected', 'approved', 'release-failed',
                        'releasing'}) do
  out[#out + 1] = redis.call('ZCARD', P .. 'q:' .. state)
end
return out
