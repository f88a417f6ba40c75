-- Shared by the moderators' scripts (admin_*.lua): scripts/gen-lua-header
-- puts this in front of each.  ARGV[1] is the key prefix P of every script.
--
-- These scripts name their keys from the prefix and the comment ids they
-- read, so they run on one Redis (or a Sentinel's master), not a Cluster.
local P = ARGV[1]

local SUMMARY = {'id', 'state', 'time', 'article', 'section', 'name', 'email', 'url',
                 'ip', 'text', 'score', 'rules', 'reason', 'spans', 'error',
                 'status', 'moderator', 'decided'}
local NUMBERS = {time = true, score = true, decided = true, status = true,
                 version = true}
local RAW_JSON = {spans = '[]', hits = '[]'}

-- a comment's fields as a JSON object; stored JSON (spans, hits) as is
local function comment_json(key, names)
  local v = redis.call('HMGET', key, unpack(names))
  if not v[1] then
    return nil
  end
  local t, raw = {}, {}
  for i, name in ipairs(names) do
    local x = v[i]
    if RAW_JSON[name] then
      raw[#raw + 1] = '"' .. name .. '":' .. ((x and x ~= '') and x or RAW_JSON[name])
    elseif NUMBERS[name] then
      t[name] = tonumber(x) or 0
    else
      t[name] = x or ''
    end
  end
  -- who wrote it, as the moderators know them (the stored "author" is a hash)
  if t.name then
    t.author = t.name ~= '' and t.name or t.email
  end
  local s = cjson.encode(t)
  if #raw == 0 then
    return s
  end
  return s:sub(1, -2) .. ',' .. table.concat(raw, ',') .. '}'
end

local function json_array(items)
  return '[' .. table.concat(items, ',') .. ']'
end

-- the reputation hashes of a comment's author, address and network
local IDENTS = {{field = 'author', rep = 'rep:a:', rej24 = 'rej24:a:',
                 block = 'block:a:', hist = 'hist:a:'},
                {field = 'address', rep = 'rep:i:', hist = 'hist:i:'},
                {field = 'network', rep = 'rep:n:', rej24 = 'rej24:n:',
                 block = 'block:n:'}}

-- an action's line in the audit log, which cm-rules writes too
local function audit(entry)
  redis.call('LPUSH', P .. 'audit', cjson.encode(entry))
  redis.call('LTRIM', P .. 'audit', 0, 9999)
end

-- moves a comment from one state's index to another's
local function move(id, from, to, time)
  redis.call('ZREM', P .. 'q:' .. from, id)
  redis.call('ZADD', P .. 'q:' .. to, time, id)
end
