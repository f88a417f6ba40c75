-- One page of the comments in a state, filtered, for the review page.
-- ARGV[1] P   ARGV[2] state   ARGV[3] order: oldest | newest | score
-- ARGV[4] offset   ARGV[5] limit
-- ARGV[6..10] filters, '' for none: article, rule, author (name or e-mail,
--             any case), ip, q (a piece of the text, any case)
-- Returns {"state", "total", "offset", "comments": [summary...]} as JSON.
local state, order = ARGV[2], ARGV[3]
local offset, limit = tonumber(ARGV[4]) or 0, tonumber(ARGV[5]) or 50
local article, rule, ip = ARGV[6], ARGV[7], ARGV[9]
local author, q = ARGV[8]:lower(), ARGV[10]:lower()
local index = P .. 'q:' .. state
local filtered = article ~= '' or rule ~= '' or author ~= '' or ip ~= ''
                 or q ~= ''

-- a filter or a score order reads the comments: at most this many
local SCAN = 5000

local range = order == 'oldest' and 'ZRANGE' or 'ZREVRANGE'
local total, ids

if not filtered and order ~= 'score' then
  total = redis.call('ZCARD', index)
  ids = redis.call(range, index, offset, offset + limit - 1)
else
  local found = {}
  for _, id in ipairs(redis.call(range, index, 0, SCAN - 1)) do
    local v = redis.call('HMGET', P .. 'c:' .. id, 'article', 'rules', 'name',
                         'email', 'ip', 'text', 'score')
    local ok = v[6] ~= false
    if ok and article ~= '' then ok = v[1] == article end
    if ok and rule ~= '' then
      ok = string.find(',' .. (v[2] or '') .. ',', ',' .. rule .. ',', 1, true)
    end
    if ok and author ~= '' then
      ok = (v[3] or ''):lower() == author or (v[4] or ''):lower() == author
    end
    if ok and ip ~= '' then ok = v[5] == ip end
    if ok and q ~= '' then ok = string.find(v[6]:lower(), q, 1, true) end
    if ok then
      found[#found + 1] = {id = id, score = tonumber(v[7]) or 0, n = #found}
    end
  end
  if order == 'score' then
    table.sort(found, function(a, b)
      if a.score ~= b.score then return a.score > b.score end
      return a.n < b.n
    end)
  end
  total = #found
  ids = {}
  for i = offset + 1, math.min(offset + limit, total) do
    ids[#ids + 1] = found[i].id
  end
end

local comments = {}
for _, id in ipairs(ids) do
  comments[#comments + 1] = comment_json(P .. 'c:' .. id, SUMMARY)
end

return cjson.encode({state = state, total = total, offset = offset}):sub(1, -2)
       .. ',"comments":' .. json_array(comments) .. '}'
