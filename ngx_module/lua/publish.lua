-- Publishes a rule set as a new version and makes it the active one, in
-- one step: a worker that sees the new active version finds all of it.
-- Run by scripts/cm-rules publish.
--
-- KEYS[1]  the version counter        (P rules:seq, INCR)
-- KEYS[2]  the versions               (P rules:versions, a zset: score N, member N)
-- KEYS[3]  the active version         (P rules:active, "N")
-- KEYS[4]  the audit log              (P audit, a list, newest first)
-- ARGV[1]  the prefix of version keys (P rules:v:) - the new version's hash,
--          P rules:v:<N>, can only be named here, once N is drawn
-- ARGV[2]  the channel told of the change (P rules)
-- ARGV[3]  now, unix seconds   ARGV[4] author   ARGV[5] note
-- ARGV[6]  the entry: a file of the set ("default.rules"), or "." for all
--          *.rules of its root
-- ARGV[7..] "file:<relative path>", content, ... one pair per file
--
-- Returns {N, the version that was active before (nil if none)}.
local now, author, note = tonumber(ARGV[3]), ARGV[4], ARGV[5]
local prev = redis.call('GET', KEYS[3])
local n = redis.call('INCR', KEYS[1])

-- a counter lost or reset must not draw a number already used
local top = tonumber(redis.call('ZREVRANGE', KEYS[2], 0, 0)[1])
if top and top >= n then
  n = top + 1
  redis.call('SET', KEYS[1], n)
end

local key = ARGV[1] .. n
redis.call('DEL', key)
redis.call('HSET', key, '@entry', ARGV[6], '@author', author, '@note', note,
           '@time', now, '@files', (#ARGV - 6) / 2)
for i = 7, #ARGV - 1, 2 do
  redis.call('HSET', key, ARGV[i], ARGV[i + 1])
end
redis.call('ZADD', KEYS[2], n, n)
redis.call('SET', KEYS[3], n)

redis.call('LPUSH', KEYS[4], cjson.encode({
  time = now, who = author, action = 'publish', version = n,
  from = tonumber(prev) or cjson.null, note = note }))
redis.call('LTRIM', KEYS[4], 0, 9999)

redis.call('PUBLISH', ARGV[2], n)

return {n, prev}
