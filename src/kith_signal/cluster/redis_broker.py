"""The Redis-backed broker: several ``kith-signal`` processes, one routing state.

Each process keeps its own connections' state in memory (sinks, subscriptions,
the values they hold, their logins) and mirrors into Redis what the others
need: retained values, logins, and deliveries on per-topic pub/sub channels.

Why per-topic channels (a process ``SUBSCRIBE``s ``kc:<topic>`` while it has a
local subscriber) rather than per-process channels and a topic directory: a
publish is then one ``PUBLISH`` that Redis fans out to exactly the processes
that care, in the same pipeline as the ``SET`` of the retained value (two
commands per item, one round trip per batch), with no directory to read first
and none to clean up after a crash (Redis drops a dead client's
subscriptions). Redis keeps a hash entry per channel: memory grows with the
topics subscribed, which a process's users need anyway.

Deliveries to this process's own connections never go through Redis: they
are made at once, so when Redis is down users on one process still see each
other. Every message on a channel carries its origin process, which skips it.
When a shard comes back (or first connects) this process rebuilds its part of
Redis: re-subscribes its channels, announces ``gone`` for values Redis still
lists as its own but that it no longer holds, re-publishes the values it
holds, re-registers its logins, and refreshes its subscribers from Redis.

Nothing here decodes a topic or payload: topics are blinded, payloads sealed,
identity tags keyed hashes whose key derives from the cluster secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from kith_proto import wire
from kith_proto.limits import retained_size
from kith_signal.broker import (
    DEFAULT_MAX_RETAINED_BYTES,
    Delivery,
    Replaced,
    ReplyBudgetError,
    RetainedLimitError,
    Sink,
    TopicLimitError,
)
from kith_signal.cluster import scripts
from kith_signal.cluster.keyspace import (
    Kind,
    channel,
    conn_prefix,
    decode_login,
    decode_message,
    decode_value,
    encode_message,
    held_key,
    login_key,
    login_value,
    logins_key,
    notice_channel,
    retained_key,
    shard_of,
    topic_of_channel,
)
from kith_signal.cluster.registry import DEFAULT_INTERVAL, DEFAULT_TTL, ProcessRegistry
from kith_signal.cluster.shard import CHUNK, Shard, ShardUnavailable
from kith_signal.logfmt import log_event
from kith_signal.metrics import Metrics

__all__ = ["RedisBroker"]

_topic = wire.decode_payload  # the schema already checked the spelling
_text = wire.encode_payload
SHUTDOWN_TIMEOUT = 2.0
_REPLACED = b"R"


class RedisBroker:
    """Implements :class:`~kith_signal.broker.Broker` over one or more Redis shards.

    Args:
        urls: One ``redis://`` URL per shard; topics and logins are spread
            over them by digest.
        metrics: Where Redis latency, commands and health go.
        log: Structured logger.
        max_topics: As for the in-process broker, per connection.
        max_retained_bytes: Bytes of retained payloads this process's
            connections may hold together.
        process_ttl: Seconds this process's liveness key lives unrefreshed.
        beat_interval: Seconds between refreshes (and checks of the others).
    """

    def __init__(
        self,
        urls: Sequence[str],
        *,
        metrics: Metrics,
        log: logging.Logger,
        max_topics: int = 4096,
        max_retained_bytes: int = DEFAULT_MAX_RETAINED_BYTES,
        process_ttl: float = DEFAULT_TTL,
        beat_interval: float = DEFAULT_INTERVAL,
    ) -> None:
        if not urls:
            raise ValueError("a Redis broker needs at least one URL")
        self.process = secrets.token_hex(8)
        self._metrics = metrics
        self._origin = conn_prefix(self.process)
        self._notice = notice_channel(self.process)
        self._log = log
        self._max_topics = max_topics
        self._max_retained_bytes = max_retained_bytes
        self._retained_bytes = 0
        self._shards = [
            Shard(
                index,
                url,
                notice_channel=self._notice,
                on_message=self._on_message,
                channels=self._channels_on,
                on_ready=self._rebuild,
                metrics=metrics,
                log=log,
            )
            for index, url in enumerate(urls)
        ]
        first = self._shards[0].client
        self._gone_script = first.register_script(scripts.GONE)
        self._unlogin_script = first.register_script(scripts.UNLOGIN)
        forget = first.register_script(scripts.FORGET)
        self._registry = ProcessRegistry(
            self.process,
            ttl=process_ttl,
            interval=beat_interval,
            gone=self._gone_script,
            unlogin=self._unlogin_script,
            forget=forget,
            log=log,
        )
        self._synced: set[int] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._sinks: dict[str, Sink] = {}
        self._logins: dict[bytes, str] = {}
        self._tags: dict[str, bytes] = {}
        self._subscribers: dict[bytes, set[str]] = {}
        self._subscriptions: dict[str, set[bytes]] = {}
        self._published: dict[str, dict[bytes, bytes]] = {}
        self._holder: dict[bytes, str] = {}

    # -- lifecycle --

    async def start(self) -> None:
        """Connect to every shard (in the background) and start the heartbeat."""
        log_event(self._log, "cluster_process", process=self.process, shards=len(self._shards))
        self._tasks = [asyncio.create_task(shard.run()) for shard in self._shards]
        self._tasks.append(asyncio.create_task(self._registry.run(self._shards)))

    async def close(self) -> None:
        """Remove this process's keys from the shards that are up, and stop."""
        for shard in self._shards:
            if shard.up:
                pipe = shard.pipeline()
                self._registry.unregister(pipe)
                with contextlib.suppress(ShardUnavailable, TimeoutError):
                    async with asyncio.timeout(SHUTDOWN_TIMEOUT):
                        await shard.execute(pipe, "register")
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for shard in self._shards:
            await shard.close()

    def unhealthy_reason(self) -> str | None:
        """Why the broker cannot reach the whole cluster; ``None`` when it can."""
        down = [
            f"redis shard {shard.index}: {shard.reason}" for shard in self._shards if not shard.up
        ]
        return "; ".join(down) or None

    # -- Broker --

    async def attach(self, conn_id: str, sink: Sink) -> None:
        self._sinks[conn_id] = sink

    async def login(self, conn_id: str, identity_tag: bytes) -> None:
        previous = self._logins.get(identity_tag)
        self._logins[identity_tag] = conn_id
        self._tags[conn_id] = identity_tag
        if previous is not None and previous != conn_id:
            self._tags.pop(previous, None)
            self._deliver(previous, Replaced())
        shard = self._shard(identity_tag)
        with contextlib.suppress(ShardUnavailable):
            await self._claim_logins(shard, [(identity_tag, conn_id)], checked=True)

    async def subscribe(
        self, conn_id: str, topics: Sequence[str], max_reply_bytes: int | None = None
    ) -> list[wire.Retained]:
        mine = self._subscriptions.setdefault(conn_id, set())
        new: dict[str, bytes] = {}
        for text, raw in zip(topics, map(_topic, topics), strict=True):
            if raw not in mine:
                new[text] = raw
        if len(mine) + len(new) > self._max_topics:
            raise TopicLimitError(f"at most {self._max_topics} topics per connection")
        fresh = [raw for raw in new.values() if raw not in self._subscribers]
        for raw in new.values():
            mine.add(raw)
            self._subscribers.setdefault(raw, set()).add(conn_id)
        await asyncio.gather(
            *(
                shard.subscribe([channel(t) for t in group])
                for shard, group in self._by_shard(fresh)
            )
        )
        values = await self._values(list(new.values()))
        if max_reply_bytes is not None:
            size = _reply_size(values, new.values())
            if size > max_reply_bytes:
                await self._drop_subscriptions(conn_id, set(new.values()))
                raise ReplyBudgetError(size)
        return [
            wire.Retained(topic=text, payload=_text(values[raw]))
            for text, raw in new.items()
            if raw in values
        ]

    async def unsubscribe(self, conn_id: str, topics: Sequence[str]) -> None:
        mine = self._subscriptions.get(conn_id, set())
        drop = {raw for raw in map(_topic, topics) if raw in mine}
        if drop:
            await self._drop_subscriptions(conn_id, drop)

    async def publish(self, conn_id: str, topic: str, payload: str) -> int:
        return await self.publish_batch(conn_id, [(topic, payload)])

    async def publish_batch(self, conn_id: str, items: Sequence[tuple[str, str]]) -> int:
        raw = [_topic(topic) for topic, _ in items]
        payloads = [wire.decode_payload(payload) for _, payload in items]
        published = self._published.setdefault(conn_id, {})
        taken = {t for t in raw if t not in published}
        if len(published) + len(taken) > self._max_topics:
            raise TopicLimitError(f"at most {self._max_topics} topics per connection")
        latest = dict(zip(raw, payloads, strict=True))
        growth = sum(len(p) - self._held_size(t) for t, p in latest.items())
        if growth > 0 and self._retained_bytes + growth > self._max_retained_bytes:
            raise RetainedLimitError(
                f"the server holds its maximum of {self._max_retained_bytes} retained bytes"
            )
        holder = conn_prefix(conn_id)
        pipes: dict[int, Any] = {}
        delivered = 0
        for topic, payload, (text, payload_text) in zip(raw, payloads, items, strict=True):
            new = topic not in published
            self._hold(topic, conn_id, payload)
            delivered += self._fan_out(topic, conn_id, wire.Event(topic=text, payload=payload_text))
            shard = self._shard(topic)
            if not shard.up:
                continue
            pipe = pipes.get(shard.index)
            if pipe is None:
                pipe = pipes[shard.index] = shard.pipeline()
            pipe.set(retained_key(topic), holder + payload)
            if new:
                pipe.hset(held_key(self.process), topic, holder)
            pipe.publish(channel(topic), encode_message(Kind.EVENT, self.process, payload))
        if pipes:
            self._metrics.redis_commands_per_change.observe(sum(map(len, pipes.values())))
        await self._execute_all(pipes, "publish")
        return delivered

    async def retract(self, conn_id: str, topics: Sequence[str]) -> int:
        published = self._published.get(conn_id, {})
        held = [raw for raw in dict.fromkeys(map(_topic, topics)) if raw in published]
        return await self._gone(conn_id, held)

    async def relay(self, conn_id: str, topic: str, payload: str) -> int:
        message = wire.Relayed(topic=topic, payload=payload)
        return await self._send(conn_id, topic, payload, message, Kind.RELAYED)

    async def intro(self, conn_id: str, topic: str, payload: str) -> int:
        message = wire.IntroReceived(topic=topic, payload=payload)
        return await self._send(conn_id, topic, payload, message, Kind.INTRO)

    async def detach(self, conn_id: str) -> int:
        self._sinks.pop(conn_id, None)
        tag = self._tags.pop(conn_id, None)
        if tag is not None and self._logins.get(tag) == conn_id:
            del self._logins[tag]
            shard = self._shard(tag)
            if shard.up:
                pipe = shard.pipeline()
                value = login_value(self.process, conn_id)
                await self._unlogin_script(
                    keys=[logins_key(self.process)], args=[tag, value], client=pipe
                )
                with contextlib.suppress(ShardUnavailable):
                    await shard.execute(pipe, "detach")
        await self._drop_subscriptions(conn_id, set(self._subscriptions.get(conn_id, ())))
        self._subscriptions.pop(conn_id, None)
        delivered = await self._gone(conn_id, list(self._published.get(conn_id, {})))
        self._published.pop(conn_id, None)
        return delivered

    def retained_bytes(self) -> int:
        return self._retained_bytes

    async def snapshot(self) -> dict[str, Any]:
        """This process's part of the state (``retained``: values its
        connections hold), and the health of each shard."""
        return {
            "process": self.process,
            "connections": sorted(self._sinks),
            "logins": {tag.hex(): conn for tag, conn in self._logins.items()},
            "subscribers": {
                _text(topic): sorted(conns) for topic, conns in self._subscribers.items()
            },
            "retained": {
                _text(topic): [conn, _text(self._published[conn][topic])]
                for topic, conn in self._holder.items()
            },
            "published": {
                conn: sorted(map(_text, topics))
                for conn, topics in self._published.items()
                if topics
            },
            "shards": {str(shard.index): shard.up for shard in self._shards},
        }

    # -- local state --

    def _shard(self, digest: bytes) -> Shard:
        return self._shards[shard_of(digest, len(self._shards))]

    def _by_shard(self, topics: Iterable[bytes]) -> list[tuple[Shard, list[bytes]]]:
        groups: dict[int, list[bytes]] = {}
        for topic in topics:
            groups.setdefault(shard_of(topic, len(self._shards)), []).append(topic)
        return [(self._shards[index], group) for index, group in groups.items()]

    def _held_size(self, topic: bytes) -> int:
        holder = self._holder.get(topic)
        return 0 if holder is None else len(self._published[holder][topic])

    def _hold(self, topic: bytes, conn_id: str, payload: bytes) -> None:
        """``conn_id`` holds ``topic``'s value now (taking it from another
        local connection if one held it)."""
        self._retained_bytes += len(payload) - self._held_size(topic)
        previous = self._holder.get(topic)
        if previous is not None and previous != conn_id:
            self._published[previous].pop(topic, None)
        self._holder[topic] = conn_id
        self._published.setdefault(conn_id, {})[topic] = payload

    def _release(self, topic: bytes) -> None:
        """Forget a locally held value (gone, or taken by another process)."""
        holder = self._holder.pop(topic, None)
        if holder is not None:
            payload = self._published.get(holder, {}).pop(topic, b"")
            self._retained_bytes -= len(payload)

    async def _drop_subscriptions(self, conn_id: str, drop: set[bytes]) -> None:
        mine = self._subscriptions.get(conn_id, set())
        mine -= drop
        empty = []
        for topic in drop:
            conns = self._subscribers.get(topic)
            if conns is None:
                continue
            conns.discard(conn_id)
            if not conns:
                del self._subscribers[topic]
                empty.append(topic)
        await asyncio.gather(
            *(
                shard.unsubscribe([channel(t) for t in group])
                for shard, group in self._by_shard(empty)
            )
        )

    def _fan_out(self, topic: bytes, sender: str | None, message: Delivery) -> int:
        conns = self._subscribers.get(topic)
        if not conns:
            return 0
        delivered = 0
        for conn_id in tuple(conns):
            if conn_id != sender:
                self._deliver(conn_id, message)
                delivered += 1
        return delivered

    def _deliver(self, conn_id: str, message: Delivery) -> None:
        sink = self._sinks.get(conn_id)
        if sink is not None:
            sink(message)

    # -- Redis --

    async def _execute_all(self, pipes: dict[int, Any], op: str) -> list[list[Any]]:
        """Run one pipeline per shard concurrently; a shard that is down is
        skipped (it is rebuilt when it returns)."""
        if not pipes:
            return []
        results = await asyncio.gather(
            *(self._shards[index].execute(pipe, op) for index, pipe in pipes.items()),
            return_exceptions=True,
        )
        out: list[list[Any]] = []
        for result in results:
            if isinstance(result, ShardUnavailable):
                continue
            if isinstance(result, BaseException):
                raise result
            out.append(result)
        return out

    async def _values(self, topics: list[bytes]) -> dict[bytes, bytes]:
        """Retained payloads of ``topics``: held here, or read from Redis."""
        values = {t: self._published[self._holder[t]][t] for t in topics if t in self._holder}
        remote = [t for t in topics if t not in values]
        pipes: dict[int, Any] = {}
        order: dict[int, list[bytes]] = {}
        for shard, group in self._by_shard(remote):
            if shard.up:
                pipe = pipes[shard.index] = shard.pipeline()
                pipe.mget([retained_key(t) for t in group])
                order[shard.index] = group
        if not pipes:
            return values
        results = await asyncio.gather(
            *(self._shards[i].execute(pipe, "subscribe") for i, pipe in pipes.items()),
            return_exceptions=True,
        )
        for index, result in zip(pipes, results, strict=True):
            if isinstance(result, BaseException):
                if isinstance(result, ShardUnavailable):
                    continue
                raise result
            for topic, value in zip(order[index], result[0], strict=True):
                if value is not None:
                    values[topic] = _payload_of(value)
        return values

    async def _gone(self, conn_id: str, topics: list[bytes]) -> int:
        """``gone`` on ``topics`` (held by ``conn_id``): here at once, and in Redis."""
        delivered = 0
        for topic in topics:
            self._release(topic)
            delivered += self._fan_out(topic, conn_id, wire.Gone(topic=_text(topic)))
        holder = conn_prefix(conn_id)
        pipes: dict[int, Any] = {}
        for shard, group in self._by_shard(topics):
            if not shard.up:
                continue
            pipe = pipes[shard.index] = shard.pipeline()
            for start in range(0, len(group), CHUNK):
                args: list[bytes] = [self._origin]
                for topic in group[start : start + CHUNK]:
                    args += [topic, holder]
                await self._gone_script(keys=[held_key(self.process)], args=args, client=pipe)
        await self._execute_all(pipes, "gone")
        return delivered

    async def _send(
        self, conn_id: str, topic: str, payload: str, message: Delivery, kind: Kind
    ) -> int:
        """Relay or intro: local subscribers at once, others through Redis."""
        raw = _topic(topic)
        delivered = self._fan_out(raw, conn_id, message)
        shard = self._shard(raw)
        if not shard.up:
            return delivered
        pipe = shard.pipeline()
        pipe.publish(channel(raw), encode_message(kind, self.process, wire.decode_payload(payload)))
        try:
            (receivers,) = await shard.execute(pipe, kind.name.lower())
        except ShardUnavailable:
            return delivered
        # This process receives its own message when it has local subscribers.
        return delivered + max(0, int(receivers) - (1 if raw in self._subscribers else 0))

    async def _claim_logins(
        self, shard: Shard, logins: Sequence[tuple[bytes, str]], *, checked: bool
    ) -> None:
        """Write this process's logins; an older holder elsewhere gets ``Replaced``."""
        pipe = shard.pipeline()
        values = []
        for tag, conn_id in logins:
            value = login_value(self.process, conn_id)
            values.append(value)
            pipe.set(login_key(tag), value, get=True)
            pipe.hset(logins_key(self.process), tag, value)
        run = shard.execute if checked else shard.execute_anyway
        replies = await run(pipe, "login")
        notices = shard.pipeline()
        for value, old in zip(values, replies[::2], strict=True):
            if old is None or old == value:
                continue
            try:
                process, older = decode_login(old)
            except ValueError:
                continue
            if process != self.process:
                notices.publish(notice_channel(process), _REPLACED + older.encode())
        await run(notices, "login")

    def _on_message(self, name: bytes, data: bytes) -> None:
        """A message from Redis: deliver it to this process's connections."""
        if name == self._notice:
            if data.startswith(_REPLACED):
                self._replaced(data[len(_REPLACED) :].decode(errors="replace"))
            return
        topic = topic_of_channel(name)
        if topic is None:
            return
        try:
            message = decode_message(data)
        except ValueError:
            log_event(self._log, "redis_bad_message", logging.WARNING)
            return
        if message.origin == self.process:
            return  # delivered locally when it was sent
        text = _text(topic)
        delivery: Delivery
        if message.kind is Kind.EVENT:
            if topic in self._holder:
                self._release(topic)  # another process's connection took it over
            delivery = wire.Event(topic=text, payload=_text(message.payload))
        elif message.kind is Kind.GONE:
            delivery = wire.Gone(topic=text)
        elif message.kind is Kind.RELAYED:
            delivery = wire.Relayed(topic=text, payload=_text(message.payload))
        else:
            delivery = wire.IntroReceived(topic=text, payload=_text(message.payload))
        self._fan_out(topic, None, delivery)

    def _replaced(self, conn_id: str) -> None:
        tag = self._tags.pop(conn_id, None)
        if tag is not None and self._logins.get(tag) == conn_id:
            del self._logins[tag]
        self._deliver(conn_id, Replaced())

    # -- rebuilding a shard --

    def _channels_on(self, shard: Shard) -> list[bytes]:
        return [channel(t) for t in self._subscribers if self._shard(t) is shard]

    async def _rebuild(self, shard: Shard) -> None:
        """Bring ``shard`` up to date with this process (first connection or return)."""
        returning = shard.index in self._synced
        await self._registry.refresh(shard)
        await self._registry.forget_reaping(shard)
        await self._rebuild_values(shard)
        await self._rebuild_logins(shard)
        if returning:
            await self._refresh_subscribers(shard)
        self._synced.add(shard.index)
        log_event(self._log, "redis_rebuilt", shard=shard.index, returning=returning)

    async def _rebuild_values(self, shard: Shard) -> None:
        mine = {t: conn_prefix(c) for t, c in self._holder.items() if self._shard(t) is shard}
        stale: list[bytes] = []
        async for topic, holder in shard.client.hscan_iter(held_key(self.process), count=CHUNK):
            if mine.get(topic) != holder:
                stale += [topic, holder]
        for start in range(0, len(stale), 2 * CHUNK):
            pipe = shard.pipeline()
            await self._gone_script(
                keys=[held_key(self.process)],
                args=[self._origin, *stale[start : start + 2 * CHUNK]],
                client=pipe,
            )
            await shard.execute_anyway(pipe, "rebuild")
        topics = list(mine)
        for start in range(0, len(topics), CHUNK):
            pipe = shard.pipeline()
            for topic in topics[start : start + CHUNK]:
                holder = mine[topic]
                payload = self._published[self._holder[topic]][topic]
                pipe.set(retained_key(topic), holder + payload)
                pipe.hset(held_key(self.process), topic, holder)
                pipe.publish(channel(topic), encode_message(Kind.EVENT, self.process, payload))
            await shard.execute_anyway(pipe, "rebuild")

    async def _rebuild_logins(self, shard: Shard) -> None:
        mine = {tag: c for tag, c in self._logins.items() if self._shard(tag) is shard}
        stale: list[bytes] = []
        async for tag, value in shard.client.hscan_iter(logins_key(self.process), count=CHUNK):
            conn_id = mine.get(tag)
            if conn_id is None or login_value(self.process, conn_id) != value:
                stale += [tag, value]
        for start in range(0, len(stale), 2 * CHUNK):
            pipe = shard.pipeline()
            await self._unlogin_script(
                keys=[logins_key(self.process)], args=stale[start : start + 2 * CHUNK], client=pipe
            )
            await shard.execute_anyway(pipe, "rebuild")
        logins = list(mine.items())
        for start in range(0, len(logins), CHUNK):
            await self._claim_logins(shard, logins[start : start + CHUNK], checked=False)

    async def _refresh_subscribers(self, shard: Shard) -> None:
        """After an outage: what each subscribed topic holds now (value or gone)."""
        topics = [t for t in self._subscribers if self._shard(t) is shard and t not in self._holder]
        for start in range(0, len(topics), CHUNK):
            group = topics[start : start + CHUNK]
            pipe = shard.pipeline()
            pipe.mget([retained_key(t) for t in group])
            (values,) = await shard.execute_anyway(pipe, "rebuild")
            for topic, value in zip(group, values, strict=True):
                text = _text(topic)
                delivery: Delivery
                if value is None:
                    delivery = wire.Gone(topic=text)
                else:
                    delivery = wire.Event(topic=text, payload=_text(_payload_of(value)))
                self._fan_out(topic, None, delivery)


def _payload_of(value: bytes) -> bytes:
    return decode_value(value)[1]


def _reply_size(values: dict[bytes, bytes], topics: Iterable[bytes]) -> int:
    return sum(retained_size(len(values[t])) for t in topics if t in values)
