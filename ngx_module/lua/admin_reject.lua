-- A moderator rejects a comment, and may block its author or network for a
-- while (reputation.rules rejects their comments meanwhile).
-- ARGV[1] P   ARGV[2] id   ARGV[3] now, ms   ARGV[4] moderator
-- ARGV[5] action: reject | reject-block   ARGV[6] block: author | network | ''
-- ARGV[7] block for, hours   ARGV[8] keep, s (0: for ever)
-- Returns {200 | 404 | 409, JSON result}.
local id, now, who, action = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local block, hours, keep = ARGV[6], tonumber(ARGV[7]) or 0, tonumber(ARGV[8])
local key = P .. 'c:' .. id

local v = redis.call('HMGET', key, 'state', 'time', 'author', 'address',
                     'network')
local state = v[1]
if not state then
  return {404, cjson.encode({id = id, ok = false, state = 'unknown',
                             error = 'no such comment'})}
end
if state ~= 'pending' and state ~= 'release-failed' then
  return {409, cjson.encode({id = id, ok = false, state = state,
                             error = 'already ' .. state})}
end

redis.call('HSET', key, 'state', 'rejected', 'decided', now, 'moderator', who)
move(id, state, 'rejected', tonumber(v[2]) or now)
if keep > 0 then
  redis.call('EXPIRE', key, keep)
end

for i, ident in ipairs(IDENTS) do
  local hash = v[2 + i]
  if hash and hash ~= '' then
    -- counted as queued when it was held: now it is a rejection instead
    redis.call('HINCRBY', P .. ident.rep .. hash, 'rejected', 1)
    redis.call('HINCRBY', P .. ident.rep .. hash, 'queued', -1)
    if ident.rej24 and redis.call('INCR', P .. ident.rej24 .. hash) == 1 then
      redis.call('EXPIRE', P .. ident.rej24 .. hash, 86400)
    end
    if ident.block and block == ident.field and hours > 0 then
      redis.call('SET', P .. ident.block .. hash, now, 'EX',
                 math.floor(hours * 3600))
    end
  end
end

audit({time = now, who = who, action = action, id = id, from = state,
       to = 'rejected', block = block ~= '' and block or nil,
       hours = block ~= '' and hours or nil})

return {200, cjson.encode({id = id, ok = true, state = 'rejected',
                           from = state, status = 0, error = ''})}
