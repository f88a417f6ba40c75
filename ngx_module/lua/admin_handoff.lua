-- The next action handed to nginx through Redis (scripts/cm-review without
-- --url), "ACTION ID MODERATOR", or nil.
-- ARGV[1] P
return redis.call('LPOP', P .. 'handoff')
