-- The last stored comments, for a backtest of a draft rule set: pending,
-- rejected, approved and the sample of accepted ones, newest first, at
-- most ARGV[2] of each; or (ARGV[3], for the matches of a draft rule) the
-- comments of that one state only.
-- ARGV[1] P   ARGV[2] limit   ARGV[3] a state, or '' for all four
-- Returns a flat array: id, state, moderator, text, name, email, url, rules,
-- article, section for each comment.
local limit = tonumber(ARGV[2]) or 200
local states = {'pending', 'rejected', 'approved', 'accepted'}
if ARGV[3] and ARGV[3] ~= '' then
  states = {ARGV[3]}
end
local out = {}
for _, state in ipairs(states) do
  for _, id in ipairs(redis.call('ZREVRANGE', P .. 'q:' .. state, 0,
                                 limit - 1)) do
    local v = redis.call('HMGET', P .. 'c:' .. id, 'state', 'moderator', 'text',
                         'name', 'email', 'url', 'rules', 'article', 'section')
    if v[1] then
      out[#out + 1] = id
      for i = 1, 9 do out[#out + 1] = v[i] or '' end
    end
  end
end
return out
