-- The active published rule set, for the editors to start a draft from.
-- ARGV[1] P
-- Returns {404, error} or {200, {"version", "entry", "author", "note", "time",
-- "files": {path: text}}}.
local n = redis.call('GET', P .. 'rules:active')
if not n then
  return {404, cjson.encode({error = 'no rule set is published yet: publish one '
                                    .. '(scripts/cm-rules publish) first'})}
end

local flat = redis.call('HGETALL', P .. 'rules:v:' .. n)
local out = {version = tonumber(n), files = {}}
for i = 1, #flat, 2 do
  local k, v = flat[i], flat[i + 1]
  if k:sub(1, 5) == 'file:' then
    out.files[k:sub(6)] = v
  elseif k:sub(1, 1) == '@' and k ~= '@files' then
    out[k:sub(2)] = tonumber(v) or v
  end
end

return {200, cjson.encode(out)}
