-- One comment in full, with its author's and address's history.
-- ARGV[1] P   ARGV[2] id
-- Returns {404, error} or {200, JSON}.
local id = ARGV[2]
local key = P .. 'c:' .. id
local FULL = {'id', 'folded', 'version', 'user_agent', 'referer', 'method',
              'uri', 'content_type', 'hits', 'user'}
for _, name in ipairs(SUMMARY) do FULL[#FULL + 1] = name end

local comment = comment_json(key, FULL)
if not comment then
  return {404, cjson.encode({error = 'no comment ' .. id})}
end

local hashes = redis.call('HMGET', key, 'author', 'address', 'network')
local history = {}
for i, ident in ipairs(IDENTS) do
  local hash = hashes[i]
  if hash and hash ~= '' and ident.hist then
    local v = redis.call('HMGET', P .. ident.rep .. hash, 'seen', 'queued',
                         'approved', 'rejected', 'trusted')
    local h = {seen = tonumber(v[1]) or 0, queued = tonumber(v[2]) or 0,
               approved = tonumber(v[3]) or 0, rejected = tonumber(v[4]) or 0,
               trusted = tonumber(v[5]) or 0, blocked = 0}
    h.accepted = math.max(0, h.seen - h.queued - h.rejected)
    if ident.block then
      h.blocked = redis.call('EXISTS', P .. ident.block .. hash)
    end
    local recent = {}
    for _, other in ipairs(redis.call('ZREVRANGE', P .. ident.hist .. hash,
                                      0, 5)) do
      if other ~= id and #recent < 5 then
        recent[#recent + 1] = comment_json(P .. 'c:' .. other, SUMMARY)
      end
    end
    history[#history + 1] = '"' .. (i == 1 and 'author' or 'address') .. '":'
        .. cjson.encode(h):sub(1, -2) .. ',"recent":' .. json_array(recent)
        .. '}'
  end
end

return {200, comment:sub(1, -2) .. ',"history":{' .. table.concat(history, ',')
             .. '}}'}
