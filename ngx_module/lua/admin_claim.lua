-- Claims a comment for release to the backend: only one release of a
-- comment runs at a time, and a comment is released once.
-- ARGV[1] P   ARGV[2] id   ARGV[3] now, ms   ARGV[4] moderator   ARGV[5] token
-- Returns {200, from-state, method, uri, content type, body, ip, user agent,
-- referer} when claimed;
-- else {404 | 409, JSON result}.
local id, now, who, token = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local key = P .. 'c:' .. id

-- a release nobody finished in this time (its nginx died) may run again
local STALE = 120000

local v = redis.call('HMGET', key, 'state', 'claim_time', 'method', 'uri',
                     'content_type', 'body', 'time', 'ip', 'user_agent',
                     'referer')
local state = v[1]
if not state then
  return {404, cjson.encode({id = id, ok = false, state = 'unknown',
                             error = 'no such comment'})}
end

local stale = state == 'releasing' and now - (tonumber(v[2]) or 0) > STALE
if not (state == 'pending' or state == 'rejected'
        or state == 'release-failed' or stale) then
  local why = state == 'releasing' and 'being released by another moderator'
              or 'already ' .. state
  return {409, cjson.encode({id = id, ok = false, state = state, error = why})}
end

-- where an unclaim (admin_unclaim.lua) returns it; a stale claim's own
local from = state
if stale then
  from = redis.call('HGET', key, 'claim_from') or 'pending'
end

redis.call('HSET', key, 'state', 'releasing', 'claim', token,
           'claim_time', now, 'claim_from', from, 'moderator', who)
-- a rejected comment would expire: being approved, it stays
redis.call('PERSIST', key)
move(id, state, 'releasing', tonumber(v[7]) or now)

return {200, state, v[3] or 'POST', v[4] or '/', v[5] or '', v[6] or '',
        v[8] or '', v[9] or '', v[10] or ''}
