-- The active published rule set's files, for a shadow rule promoted on the
-- server (api/rules/promote).
-- ARGV[1] P
-- Returns {} when nothing is published yet, else {version, entry, path,
-- text, path, text, ...}.
local n = redis.call('GET', P .. 'rules:active')
if not n then
  return {}
end

local flat = redis.call('HGETALL', P .. 'rules:v:' .. n)
local out = {n, 'default.rules'}
for i = 1, #flat, 2 do
  local k = flat[i]
  if k:sub(1, 5) == 'file:' then
    out[#out + 1] = k:sub(6)
    out[#out + 1] = flat[i + 1]
  elseif k == '@entry' then
    out[2] = flat[i + 1]
  end
end
return out
