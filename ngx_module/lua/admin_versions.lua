-- The published versions of the rule set, newest first, and the active one.
-- ARGV[1] P   ARGV[2] at most this many
-- Returns {"active", "versions": [{"version", "author", "note", "time",
-- "entry", "files"}...]} as JSON.
local limit = tonumber(ARGV[2]) or 50
local active = tonumber(redis.call('GET', P .. 'rules:active'))
local out = {}
for _, n in ipairs(redis.call('ZREVRANGE', P .. 'rules:versions', 0,
                              limit - 1)) do
  local v = redis.call('HMGET', P .. 'rules:v:' .. n, '@author', '@note',
                       '@time', '@entry', '@files')
  out[#out + 1] = cjson.encode({version = tonumber(n), author = v[1] or '',
                                note = v[2] or '', time = tonumber(v[3]) or 0,
                                entry = v[4] or '', files = tonumber(v[5]) or 0})
end
return '{"active":' .. (active or 'null') .. ',"versions":' .. json_array(out)
       .. '}'
