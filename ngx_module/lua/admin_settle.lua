-- Records how a release ended: approved (the backend took it), or
-- release-failed with the error, to be retried.  Feeds the reputation.
-- ARGV[1] P   ARGV[2] id   ARGV[3] now, ms   ARGV[4] token of the claim
-- ARGV[5] outcome: approved | release-failed   ARGV[6] moderator
-- ARGV[7] action: approve | approve-trust   ARGV[8] the state it came from
-- ARGV[9] backend status (0: none)   ARGV[10] error   ARGV[11] keep, s
-- Returns {200, JSON result}, or {409, ...} if the claim was lost.
local id, now, token, outcome = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local who, action, from = ARGV[6], ARGV[7], ARGV[8]
local status, err, keep = tonumber(ARGV[9]), ARGV[10], tonumber(ARGV[11])
local key = P .. 'c:' .. id

local v = redis.call('HMGET', key, 'claim', 'state', 'time', 'author',
                     'address', 'network', 'rules')
if v[1] ~= token or v[2] ~= 'releasing' then
  return {409, cjson.encode({id = id, ok = false, state = v[2] or 'unknown',
                             error = 'the release was taken over'})}
end

redis.call('HSET', key, 'state', outcome, 'decided', now, 'moderator', who,
           'status', status, 'error', err)
redis.call('HDEL', key, 'claim', 'claim_time', 'claim_from')
move(id, 'releasing', outcome, tonumber(v[3]) or now)

if outcome == 'approved' then
  for i, ident in ipairs(IDENTS) do
    local hash = v[3 + i]
    if hash and hash ~= '' then
      redis.call('HINCRBY', P .. ident.rep .. hash, 'approved', 1)
    end
  end
  -- the rules that held or rejected it were wrong this time
  for rule in string.gmatch(v[7] or '', '[^,]+') do
    redis.call('HINCRBY', P .. 'overturned', rule, 1)
  end
  if action == 'approve-trust' and v[4] and v[4] ~= '' then
    redis.call('HSET', P .. 'rep:a:' .. v[4], 'trusted', 1)
  end
  if keep > 0 then
    redis.call('EXPIRE', key, keep)
  end
end

audit({time = now, who = who, action = outcome == 'approved' and action
       or 'release-failed', id = id, from = from, to = outcome,
       status = status, error = err})

return {200, cjson.encode({id = id, ok = outcome == 'approved',
                           state = outcome, from = from, status = status,
                           error = err})}
