"""The offline mailbox in Redis, shared by the ``kith-signal`` processes of a
cluster: the same deposit, fetch, acknowledge and expiry semantics, quotas
and refusals as the SQLite file of one process
(:class:`~kith_signal.mailbox.sqlite_store.MailboxFile`).

Each operation is one Lua script, so it is atomic across processes (a quota
is checked and taken in one step; the same item deposited twice through two
processes is stored once). Names start with ``km`` (the cluster's other
names, :mod:`kith_signal.cluster.keyspace`, use other second letters); a
topic is the 32 raw bytes the server already sees (a hash of its owner's
token), an item its sealed bytes:

====================  ======  ==================================================
name                  type    holds
====================  ======  ==================================================
``kmq:<topic>``       zset    item ids of the topic, oldest first
``kmp:<topic>``       hash    id -> sealed item
``kmd:<topic>``       hash    digest of the sealed item -> id (stored once)
``kmx:<topic>``       hash    id -> that digest (to forget it on delete)
``kmc:<topic>``       hash    the topic's ``items`` and ``bytes`` (its quota)
``kmages``            zset    ``<id>:<topic>`` scored by the time it was stored
``kmtotal``           hash    ``items`` and ``bytes`` of all topics
``kmnext``            string  the last id given
====================  ======  ==================================================

A topic's keys vanish with its last item. Nothing names an identity, a key,
an address or who deposited. The scripts build key names from the topic, so
this runs on a standalone Redis (one shard), not on Redis Cluster.

Durability is the operator's, as Redis's: a deposit is acknowledged once
Redis took it, and survives a Redis restart only with ``appendonly yes``
(``appendfsync always`` to lose nothing acknowledged, ``everysec`` to risk
the last second). ``docs/deploy.md`` says so.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Any, Final

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from kith_signal.logfmt import log_event
from kith_signal.mailbox.backend import (
    STORE_FULL_MESSAGE,
    BackendUnavailableError,
    MailboxFullError,
    MailboxLimits,
    StoredItem,
    StoreFullError,
)

__all__ = ["PREFIX", "RedisMailboxStore"]

PREFIX: Final = b"km"
EXPIRE_BATCH: Final = 500
UNAVAILABLE_MESSAGE: Final = "the mailbox's storage cannot be reached; try again later"
_log = logging.getLogger("kith_signal.mailbox.redis_store")

_TOTALS: Final = """
local function totals(prefix)
  local t = redis.call('HMGET', prefix .. 'total', 'items', 'bytes')
  return tonumber(t[1]) or 0, tonumber(t[2]) or 0
end
"""

_REMOVE: Final = """
local function remove(prefix, topic, id)
  local pk = prefix .. 'p:' .. topic
  local payload = redis.call('HGET', pk, id)
  if not payload then return -1 end
  local size = string.len(payload)
  local xk = prefix .. 'x:' .. topic
  local digest = redis.call('HGET', xk, id)
  redis.call('HDEL', pk, id)
  redis.call('HDEL', xk, id)
  if digest then redis.call('HDEL', prefix .. 'd:' .. topic, digest) end
  redis.call('ZREM', prefix .. 'q:' .. topic, id)
  redis.call('ZREM', prefix .. 'ages', id .. ':' .. topic)
  local ck = prefix .. 'c:' .. topic
  if redis.call('HINCRBY', ck, 'items', -1) <= 0 then
    redis.call('DEL', ck)
  else
    redis.call('HINCRBY', ck, 'bytes', -size)
  end
  redis.call('HINCRBY', prefix .. 'total', 'items', -1)
  redis.call('HINCRBY', prefix .. 'total', 'bytes', -size)
  return size
end
"""

# ARGV: prefix, topic, digest, payload, now, topic_items, topic_bytes, total_bytes
# -> {status (0 stored or known, 1 topic full, 2 store full), id, items, bytes}
_DEPOSIT: Final = (
    _TOTALS
    + """
local prefix, topic, digest, payload = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local known = redis.call('HGET', prefix .. 'd:' .. topic, digest)
local items, bytes = totals(prefix)
if known then return {0, tonumber(known), items, bytes} end
local size = string.len(payload)
if bytes + size > tonumber(ARGV[8]) then return {2, 0, items, bytes} end
local ck = prefix .. 'c:' .. topic
local held = redis.call('HMGET', ck, 'items', 'bytes')
if (tonumber(held[1]) or 0) >= tonumber(ARGV[6])
    or (tonumber(held[2]) or 0) + size > tonumber(ARGV[7]) then
  return {1, 0, items, bytes}
end
local id = redis.call('INCR', prefix .. 'next')
local sid = string.format('%d', id)
redis.call('ZADD', prefix .. 'q:' .. topic, id, sid)
redis.call('HSET', prefix .. 'p:' .. topic, sid, payload)
redis.call('HSET', prefix .. 'd:' .. topic, digest, sid)
redis.call('HSET', prefix .. 'x:' .. topic, sid, digest)
redis.call('HINCRBY', ck, 'items', 1)
redis.call('HINCRBY', ck, 'bytes', size)
items = redis.call('HINCRBY', prefix .. 'total', 'items', 1)
bytes = redis.call('HINCRBY', prefix .. 'total', 'bytes', size)
redis.call('ZADD', prefix .. 'ages', ARGV[5], sid .. ':' .. topic)
return {0, id, items, bytes}
"""
)

# ARGV: prefix, topic, cutoff (items stored at or before it are expired), max_bytes
# -> {more (0/1), items, bytes, id1, payload1, id2, payload2, ...}
_FETCH: Final = (
    _TOTALS
    + """
local prefix, topic = ARGV[1], ARGV[2]
local cutoff, budget = tonumber(ARGV[3]), tonumber(ARGV[4])
local items, bytes = totals(prefix)
local out = {0, items, bytes}
local taken, start, page = 0, 0, 200
while true do
  local ids = redis.call('ZRANGE', prefix .. 'q:' .. topic, start, start + page - 1)
  if #ids == 0 then return out end
  for _, id in ipairs(ids) do
    local age = tonumber(redis.call('ZSCORE', prefix .. 'ages', id .. ':' .. topic))
    if age and age > cutoff then
      local payload = redis.call('HGET', prefix .. 'p:' .. topic, id)
      if #out > 3 and taken + string.len(payload) > budget then
        out[1] = 1
        return out
      end
      out[#out + 1] = id
      out[#out + 1] = payload
      taken = taken + string.len(payload)
    end
  end
  start = start + page
end
"""
)

# ARGV: prefix, topic, id... -> {removed, items, bytes}
_ACK: Final = (
    _TOTALS
    + _REMOVE
    + """
local prefix, topic = ARGV[1], ARGV[2]
local removed = 0
for i = 3, #ARGV do
  if remove(prefix, topic, ARGV[i]) >= 0 then removed = removed + 1 end
end
local items, bytes = totals(prefix)
return {removed, items, bytes}
"""
)

# ARGV: prefix, cutoff, batch -> {removed, removed bytes, seen, items, bytes}
_EXPIRE: Final = (
    _TOTALS
    + _REMOVE
    + """
local prefix = ARGV[1]
local seen = redis.call('ZRANGEBYSCORE', prefix .. 'ages', '-inf', ARGV[2],
                        'LIMIT', 0, tonumber(ARGV[3]))
local removed, size = 0, 0
for _, member in ipairs(seen) do
  local sep = string.find(member, ':', 1, true)
  local got = remove(prefix, string.sub(member, sep + 1), string.sub(member, 1, sep - 1))
  if got >= 0 then
    removed = removed + 1
    size = size + got
  else
    redis.call('ZREM', prefix .. 'ages', member)
  end
end
local items, bytes = totals(prefix)
return {removed, size, #seen, items, bytes}
"""
)


class RedisMailboxStore:
    """The mailbox's items in one Redis, as a
    :class:`~kith_signal.mailbox.backend.MailboxBackend`.

    Args:
        client: A ``redis.asyncio`` client that does not decode replies.
        limits: Quotas and TTL (every process of a cluster must use the same).
        prefix: The first bytes of every name (tests use their own).
    """

    def __init__(
        self, client: aioredis.Redis, limits: MailboxLimits, *, prefix: bytes = PREFIX
    ) -> None:
        self._client = client
        self._limits = limits
        self._prefix = prefix
        self._deposit = client.register_script(_DEPOSIT)
        self._fetch = client.register_script(_FETCH)
        self._ack = client.register_script(_ACK)
        self._expire = client.register_script(_EXPIRE)
        self._items = 0
        self._bytes = 0
        self._reachable = True

    @classmethod
    def from_url(cls, url: str, limits: MailboxLimits) -> RedisMailboxStore:
        """The store on the Redis at ``url`` (``redis://HOST:PORT/DB``); it
        connects on first use, so this may run before the event loop does."""
        client = aioredis.Redis.from_url(
            url, decode_responses=False, socket_timeout=5.0, socket_connect_timeout=5.0
        )
        return cls(client, limits)

    @property
    def held_items(self) -> int:
        return self._items

    @property
    def held_bytes(self) -> int:
        return self._bytes

    async def deposit(self, topic: bytes, payload: bytes, now: float) -> int:
        digest = hashlib.sha256(payload).digest()[:16]
        limits = self._limits
        status, item_id, *totals = await self._call(
            self._deposit,
            topic,
            digest,
            payload,
            repr(now),
            limits.topic_items,
            limits.topic_bytes,
            limits.total_bytes,
        )
        self._totals(totals)
        if status == 1:
            raise MailboxFullError(limits.topic_full_message())
        if status == 2:
            raise StoreFullError(STORE_FULL_MESSAGE)
        return int(item_id)

    async def fetch(
        self, topic: bytes, now: float, max_bytes: int
    ) -> tuple[list[StoredItem], bool]:
        cutoff = now - self._limits.ttl
        more, items, size, *flat = await self._call(self._fetch, topic, repr(cutoff), max_bytes)
        self._totals((items, size))
        found = [StoredItem(int(flat[i]), bytes(flat[i + 1])) for i in range(0, len(flat), 2)]
        return found, bool(more)

    async def ack(self, topic: bytes, ids: Sequence[int]) -> int:
        removed, *totals = await self._call(self._ack, topic, *(str(int(i)) for i in ids))
        self._totals(totals)
        return int(removed)

    async def expire(self, now: float) -> tuple[int, int]:
        cutoff = repr(now - self._limits.ttl)
        count = size = 0
        while True:
            removed, removed_bytes, seen, *totals = await self._call(
                self._expire, cutoff, EXPIRE_BATCH
            )
            self._totals(totals)
            count += int(removed)
            size += int(removed_bytes)
            if int(seen) < EXPIRE_BATCH:
                return count, size

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(self, script: Any, *args: object) -> list[Any]:
        """Run one script; a Redis that cannot be reached is logged once per
        outage (the error's kind, never its text: it may carry the URL)."""
        try:
            reply = await script(keys=[], args=[self._prefix, *args])
        except RedisError as exc:
            if self._reachable:
                self._reachable = False
                log_event(
                    _log,
                    "mailbox_redis_unavailable",
                    logging.ERROR,
                    error=type(exc).__name__,
                )
            raise BackendUnavailableError(UNAVAILABLE_MESSAGE) from None
        if not self._reachable:
            self._reachable = True
            log_event(_log, "mailbox_redis_available")
        return list(reply)

    def _totals(self, totals: Sequence[Any]) -> None:
        items, size = totals
        self._items, self._bytes = int(items), int(size)
