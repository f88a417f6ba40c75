-- What changed between two published versions of the rule set, file by
-- file: the lines added and removed (as multisets: a moved line is not a
-- change), and the files added or removed.
-- ARGV[1] P   ARGV[2] from version   ARGV[3] to version
-- Returns {404, error} or {200, {"from", "to", "files": [{"file", "added":
-- [...], "removed": [...]}...]}}.
local from, to = ARGV[2], ARGV[3]

local function files(n)
  local flat = redis.call('HGETALL', P .. 'rules:v:' .. n)
  if #flat == 0 then
    return nil
  end
  local out = {}
  for i = 1, #flat, 2 do
    if flat[i]:sub(1, 5) == 'file:' then
      out[flat[i]:sub(6)] = flat[i + 1]
    end
  end
  return out
end

local function count(text)
  local c = {}
  for line in (text or ''):gmatch('([^\n]*)\n?') do
    if line ~= '' then c[line] = (c[line] or 0) + 1 end
  end
  return c
end

-- the lines of b not in a, in b's order, as often as they are more in b
local function more(a, b, text)
  local out, left = {}, {}
  for line, n in pairs(b) do left[line] = n - (a[line] or 0) end
  for line in (text or ''):gmatch('([^\n]*)\n?') do
    if line ~= '' and (left[line] or 0) > 0 then
      out[#out + 1] = line
      left[line] = left[line] - 1
    end
  end
  return out
end

local a, b = files(from), files(to)
if not a or not b then
  return {404, cjson.encode({error = 'version ' .. (a and to or from)
                                     .. ' is not stored'})}
end

local names, seen = {}, {}
for name in pairs(a) do names[#names + 1] = name; seen[name] = true end
for name in pairs(b) do
  if not seen[name] then names[#names + 1] = name end
end
table.sort(names)

local out = {}
for _, name in ipairs(names) do
  if a[name] ~= b[name] then
    local ca, cb = count(a[name]), count(b[name])
    local added, removed = more(ca, cb, b[name]), more(cb, ca, a[name])
    local entry = '{"file":' .. cjson.encode(name)
                  .. ',"added":' .. (#added > 0 and cjson.encode(added) or '[]')
                  .. ',"removed":' .. (#removed > 0 and cjson.encode(removed) or '[]')
    if not a[name] then entry = entry .. ',"new":true' end
    if not b[name] then entry = entry .. ',"gone":true' end
    out[#out + 1] = entry .. '}'
  end
end

return {200, '{"from":' .. tonumber(from) .. ',"to":' .. tonumber(to)
             .. ',"files":' .. json_array(out) .. '}'}
