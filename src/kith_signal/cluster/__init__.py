"""Several ``kith-signal`` processes sharing routing state through Redis.

- ``keyspace``: what lives in Redis (key and channel names, value and message
  encodings) and which shard holds it: pure, no I/O.
- ``secret``: the cluster secret file (refused if missing or weak) and the
  identity-tag key derived from it.
- ``shard``: one Redis instance: its clients, its pub/sub reader, its health.
- ``registry``: each process's TTL'd liveness key, and the reaping of a dead
  process's retained values and logins by one survivor.
- ``redis_broker``: :class:`~kith_signal.broker.Broker` over those shards.
"""
