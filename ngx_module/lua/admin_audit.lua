-- The audit log, newest first: moderators' actions and rule publishes.
-- ARGV[1] P   ARGV[2] offset   ARGV[3] limit
-- Returns {"total", "entries": [...]} as JSON.
local offset, limit = tonumber(ARGV[2]) or 0, tonumber(ARGV[3]) or 50
local key = P .. 'audit'
local entries = redis.call('LRANGE', key, offset, offset + limit - 1)
return '{"total":' .. redis.call('LLEN', key) .. ',"entries":'
       .. json_array(entries) .. '}'
