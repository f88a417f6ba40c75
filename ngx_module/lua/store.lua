-- Keeps a held or rejected comment, once: a comment id that is already
-- stored is left alone, so a write retried from the spool lands once.
--
-- KEYS[1]  the comment                  (P c:<id>, a hash)
-- KEYS[2]  its state's index            (P q:pending | P q:rejected, a zset)
-- KEYS[3]  its article's index          (P q:article:<article>, a zset;
--          P q:article:#<hmac> for an id that is not plain)
-- KEYS[4..6] reputation: author, address, network
-- KEYS[7..8] rejections in 24 h: author, network
-- KEYS[9..10] the last comments kept of the author, of the address (zsets)
-- ARGV[1]  id   ARGV[2] state (pending|rejected|accepted: a sample kept
--          for backtests, which counts for no reputation)   ARGV[3] time, ms
-- ARGV[4]  keep the comment this long, s (0: no expiry)   ARGV[5] reputation TTL, s
-- ARGV[6..] field, value, ... of the comment
--
-- Returns 1 if stored, 0 if it was there already.
local id, state, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local keep, ttl = tonumber(ARGV[4]), tonumber(ARGV[5])

if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end

redis.call('HSET', KEYS[1], 'id', id, 'state', state, 'time', now,
           unpack(ARGV, 6))
redis.call('ZADD', KEYS[2], now, id)
if keep > 0 then
  redis.call('EXPIRE', KEYS[1], keep)
  -- the index forgets what has expired
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - keep * 1000)
end

-- the sample of accepted comments: the newest 5000 at most
if state == 'accepted' then
  for _, old in ipairs(redis.call('ZRANGE', KEYS[2], 0, -5002)) do
    redis.call('DEL', string.sub(KEYS[1], 1, #KEYS[1] - #id) .. old)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -5001)
  return 1
end

redis.call('ZADD', KEYS[3], now, id)

-- the moderators see an author's and an address's last comments
for i = 9, 10 do
  redis.call('ZADD', KEYS[i], now, id)
  redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -51)
  redis.call('EXPIRE', KEYS[i], ttl)
end

local counter = state == 'rejected' and 'rejected' or 'queued'
for i = 4, 6 do
  redis.call('HINCRBY', KEYS[i], counter, 1)
  redis.call('EXPIRE', KEYS[i], ttl)
end
if state == 'rejected' then
  for i = 7, 8 do
    if redis.call('INCR', KEYS[i]) == 1 then
      redis.call('EXPIRE', KEYS[i], 86400)
    end
  end
end

return 1
