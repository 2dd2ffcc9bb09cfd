"""The two compare-and-delete steps, as Lua run inside Redis (one round trip,
no other client in between). Keys are built inside the scripts, so they suit
independent Redis instances, not Redis Cluster (see docs/deploy.md)."""

from __future__ import annotations

__all__ = ["FORGET", "GONE", "UNLOGIN"]

GONE = """
-- KEYS[1]: the hash of values a process holds on this shard (topic -> holder)
-- KEYS[2] (when reaping): the liveness key of that process; if it is back, do nothing
-- ARGV[1]: the origin of the gone message (length-prefixed process id)
-- ARGV[2..]: pairs of topic, length-prefixed holder connection id
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then
  return -1
end
local gone = 0
for i = 2, #ARGV, 2 do
  local topic, holder = ARGV[i], ARGV[i + 1]
  local key = 'kr:' .. topic
  local value = redis.call('GET', key)
  if value and string.sub(value, 1, #holder) == holder then
    redis.call('DEL', key)
    redis.call('PUBLISH', 'kc:' .. topic, 'G' .. ARGV[1])
    gone = gone + 1
  end
  if redis.call('HGET', KEYS[1], topic) == holder then
    redis.call('HDEL', KEYS[1], topic)
  end
end
return gone
"""

UNLOGIN = """
-- KEYS[1]: the hash of logins a process holds on this shard (tag -> login value)
-- KEYS[2] (when reaping): the liveness key of that process; if it is back, do nothing
-- ARGV: pairs of tag, login value; each login is deleted only if still that value
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then
  return -1
end
local dropped = 0
for i = 1, #ARGV, 2 do
  local key = 'kl:' .. ARGV[i]
  if redis.call('GET', key) == ARGV[i + 1] then
    redis.call('DEL', key)
    dropped = dropped + 1
  end
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return dropped
"""

FORGET = """
-- The end of a reaping: KEYS[1] the dead process's liveness key, KEYS[2] and
-- KEYS[3] its hashes of values and logins, ARGV[1] its id. A process that
-- came back in the meantime (its key is there again) is left alone.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('SREM', 'kprocs', ARGV[1])
return 1
"""
