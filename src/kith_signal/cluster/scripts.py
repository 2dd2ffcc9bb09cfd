"""The two compare-and-delete steps, as Lua run inside Redis (one round trip,
no other client in between). Keys are built inside the scripts, so they suit
independent Redis instances, not Redis Cluster (see docs/deploy.md)."""

from __future__ import annotations

__all__ = ["GONE", "UNLOGIN"]

GONE = """
-- KEYS[1]: the hash of values a process holds on this shard (topic -> holder)
-- ARGV[1]: the origin of the gone message (length-prefixed process id)
-- ARGV[2..]: pairs of topic, length-prefixed holder connection id
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
-- ARGV: pairs of tag, login value; each login is deleted only if still that value
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
