-- Gives back a claim whose answer nginx never got (Redis answered too late,
-- or the connection broke): the comment returns to the state it was claimed
-- from, to be approved again now rather than when the claim goes stale.
-- Sent after the claim on the same connection, it runs after it.
-- ARGV[1] P   ARGV[2] id   ARGV[3] token of the claim   ARGV[4] keep, s
-- Returns 1 if given back, 0 if there was no such claim (never made, or
-- settled meanwhile).
local id, token, keep = ARGV[2], ARGV[3], tonumber(ARGV[4]) or 0
local key = P .. 'c:' .. id

local v = redis.call('HMGET', key, 'state', 'claim', 'claim_from', 'time')
if v[1] ~= 'releasing' or v[2] ~= token or not v[3] then
  return 0
end

redis.call('HSET', key, 'state', v[3])
redis.call('HDEL', key, 'claim', 'claim_time', 'claim_from')
move(id, 'releasing', v[3], tonumber(v[4]) or 0)
-- the claim kept a rejected comment from expiring: it expires again
if v[3] == 'rejected' and keep > 0 then
  redis.call('EXPIRE', key, keep)
end

return 1
