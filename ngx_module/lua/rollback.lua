-- Makes a stored version of the rule set the active one again, in one
-- step, or changes nothing when that version is not stored.  Run by
-- scripts/cm-rules rollback.
--
-- KEYS[1]  the version's hash      (P rules:v:<N>)
-- KEYS[2]  the active version      (P rules:active, "N")
-- KEYS[3]  the audit log           (P audit, a list, newest first)
-- ARGV[1]  N   ARGV[2] the channel told of the change (P rules)
-- ARGV[3]  now, unix seconds   ARGV[4] who   ARGV[5] note
--
-- Returns the version that was active before (nil if none); the error
-- "NOVERSION ..." if version N is not stored.
local n, now, who, note = ARGV[1], tonumber(ARGV[3]), ARGV[4], ARGV[5]

if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('NOVERSION rule set version ' .. n
                           .. ' is not stored')
end

local prev = redis.call('GET', KEYS[2])
redis.call('SET', KEYS[2], n)

redis.call('LPUSH', KEYS[3], cjson.encode({
  time = now, who = who, action = 'rollback', version = tonumber(n),
  from = tonumber(prev) or cjson.null, note = note }))
redis.call('LTRIM', KEYS[3], 0, 9999)

redis.call('PUBLISH', ARGV[2], n)

return prev
