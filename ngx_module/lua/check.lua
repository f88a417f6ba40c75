-- The hot path: one call per comment, before the decision.
-- Reads what the rules need about the comment's identities, counts this
-- comment in them, and counts the rules that fired.
--
-- KEYS[1..3]  reputation hashes: author, address, network  (P rep:a|i|n:<hmac>)
-- KEYS[4..5]  rejections in the last 24 h: author, network (P rej24:a|n:<hmac>)
-- KEYS[6..7]  a moderator's block: author, network        (P block:a|n:<hmac>)
-- KEYS[8]     rule hit counters of this hour               (P hits:<hour>)
-- KEYS[9..]   one sliding window per "limit" of the rules  (P rate:<ident>:<hmac>:<ms>)
-- ARGV[1]     now, ms          ARGV[2]  comment id   ARGV[3]  reputation TTL, s
-- ARGV[4]     L, the number of windows; ARGV[5 .. 4+2L] each window's length
--             and its start (now - length), ms
-- ARGV[5+2L..] names of the rules that fired (shadow ones too)
--
-- Numbers go to Redis as the strings nginx sent: a Lua number would be
-- formatted again with printf for every command, a tenth of the script's
-- time.
--
-- Returns, as integers: for author, address, network: seen, queued,
-- approved, rejected (before this comment); rejections in 24 h of author
-- and network; author trusted (0/1), author and network blocked (0/1);
-- then the count of each window including this comment.
local now, id, ttl = ARGV[1], ARGV[2], ARGV[3]
local nwin = tonumber(ARGV[4])
local out = {}

local trusted = 0
for i = 1, 3 do
  local v = redis.call('HMGET', KEYS[i], 'seen', 'queued', 'approved',
                       'rejected', 'trusted')
  for j = 1, 4 do out[#out + 1] = tonumber(v[j]) or 0 end
  if i == 1 then trusted = tonumber(v[5]) or 0 end
  redis.call('HINCRBY', KEYS[i], 'seen', '1')
  redis.call('EXPIRE', KEYS[i], ttl)
end

local v = redis.call('MGET', KEYS[4], KEYS[5], KEYS[6], KEYS[7])
out[#out + 1] = tonumber(v[1]) or 0
out[#out + 1] = tonumber(v[2]) or 0
out[#out + 1] = trusted
out[#out + 1] = v[3] and 1 or 0
out[#out + 1] = v[4] and 1 or 0

for j = 1, nwin do
  local key, len, start = KEYS[8 + j], ARGV[3 + 2 * j], ARGV[4 + 2 * j]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', start)
  redis.call('ZADD', key, now, id)
  out[#out + 1] = redis.call('ZCARD', key)
  redis.call('PEXPIRE', key, len)
end

for r = 5 + 2 * nwin, #ARGV do
  redis.call('HINCRBY', KEYS[8], ARGV[r], '1')
end
if #ARGV >= 5 + 2 * nwin then
  redis.call('EXPIRE', KEYS[8], '691200')   -- 8 days: the rules page's week
end

return out
