-- The last stored comments, for a backtest of a draft rule set: pending,
-- rejected, approved and the sample of accepted ones, newest first, at
-- most ARGV[2] of each.
-- ARGV[1] P   ARGV[2] limit
-- Returns a flat array: id, state, moderator, text, name, email, url, rules
-- for each comment.
local limit = tonumber(ARGV[2]) or 200
local out = {}
for _, state in ipairs({'pending', 'rejected', 'approved', 'accepted'}) do
  for _, id in ipairs(redis.call('ZREVRANGE', P .. 'q:' .. state, 0,
                                 limit - 1)) do
    local v = redis.call('HMGET', P .. 'c:' .. id, 'state', 'moderator', 'text',
                         'name', 'email', 'url', 'rules')
    if v[1] then
      out[#out + 1] = id
      for i = 1, 7 do out[#out + 1] = v[i] or '' end
    end
  end
end
return out
