-- How often each rule fired in the last hour, day and week (check.lua's
-- hourly counters), and how often moderators overturned it: a comment it
-- held or rejected, approved all the same (admin_settle.lua).
-- ARGV[1] P   ARGV[2] this hour, in hours since 1970   ARGV[3..] rule names
-- Returns a JSON array: {"rule", "hour", "day", "week", "overturned"} each.
local now = tonumber(ARGV[2])
local names = {}
for i = 3, #ARGV do names[#names + 1] = ARGV[i] end
if #names == 0 then
  return '[]'
end

local hits = {}
for i = 1, #names do hits[i] = {0, 0, 0} end

for ago = 0, 7 * 24 - 1 do
  local v = redis.call('HMGET', P .. 'hits:' .. (now - ago), unpack(names))
  for i = 1, #names do
    local n = tonumber(v[i]) or 0
    if ago == 0 then hits[i][1] = hits[i][1] + n end
    if ago < 24 then hits[i][2] = hits[i][2] + n end
    hits[i][3] = hits[i][3] + n
  end
end

local over = redis.call('HMGET', P .. 'overturned', unpack(names))
local out = {}
for i, name in ipairs(names) do
  out[i] = cjson.encode({rule = name, hour = hits[i][1], day = hits[i][2],
                         week = hits[i][3],
                         overturned = tonumber(over[i]) or 0})
end

return json_array(out)
