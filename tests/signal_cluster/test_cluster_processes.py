"""Real ``kith-signal`` processes joined by a real redis-server: presence,
relay and the one-login rule across processes; a process killed with -9;
Redis stopped and started again; two Redis shards; what Redis holds."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from kith_proto import IdentityKeys, wire
from kith_proto.client_core import (
    Disconnected,
    RelayReceived,
    RequestAcked,
    ServerError,
    SubscriptionConfirmed,
    TopicGone,
    TopicValue,
)
from kith_testkit.redis_server import redis_available
from kith_testkit.signal.clients import Client, new_topic, token_for
from kith_testkit.signal.cluster import SignalCluster
from kith_testkit.signal.process import SignalProcess

pytestmark = pytest.mark.skipif(not redis_available(), reason="redis-server is not installed")

REAPED_WITHIN = 1.5 + 0.3 + 3.0  # FAST_CLUSTER_FLAGS' TTL + beat, and slack for a busy machine


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SignalCluster]:
    c = SignalCluster(tmp_path)
    yield c
    c.close()


async def subscribed(client: Client, *topics: bytes) -> SubscriptionConfirmed:
    ref = await client.call(client.core.subscribe, list(topics))
    return await client.expect(SubscriptionConfirmed, lambda e: e.ref == ref)


async def published(client: Client, topic: bytes, payload: bytes) -> None:
    ref = await client.call(client.core.publish, token_for(topic), payload)
    await client.expect(RequestAcked, lambda e: e.ref == ref)


def health(process: SignalProcess) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(process.http + "/healthz", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def metric(process: SignalProcess, name: str) -> float:
    """The value of one sample line of ``/metrics`` (0 when absent)."""
    with urllib.request.urlopen(process.http + "/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
    return 0.0


async def health_is(process: SignalProcess, status: int, within: float = 10.0) -> str:
    async with asyncio.timeout(within):
        while True:
            code, body = await asyncio.to_thread(health, process)
            if code == status:
                return body
            await asyncio.sleep(0.05)  # polling an HTTP endpoint, bounded


async def test_presence_and_relay_cross_processes(cluster: SignalCluster) -> None:
    one, two = cluster.start("--rate", "1000"), cluster.start("--rate", "1000")
    alice, bob = await Client.ready(one.url), await Client.ready(two.url)
    presence, inbox = new_topic(), new_topic()
    await published(alice, presence, b"sealed-1")
    assert (await subscribed(bob, presence, inbox)).retained == ((presence, b"sealed-1"),)
    await published(alice, presence, b"sealed-2")
    assert await bob.expect(TopicValue) == TopicValue(presence, b"sealed-2")

    ref = await alice.call(alice.core.relay, inbox, b"sdp-offer")
    await alice.expect(RequestAcked, lambda e: e.ref == ref)
    assert await bob.expect(RelayReceived) == RelayReceived(inbox, b"sdp-offer")
    await alice.call(alice.core.relay, new_topic(), b"ice")
    assert (await alice.expect(ServerError)).code == "peer_offline"

    assert metric(one, 'kith_signal_redis_commands_total{op="publish"}') >= 4  # 2 x SET+PUBLISH
    assert metric(one, "kith_signal_redis_seconds_count") >= 1
    assert metric(one, 'kith_signal_redis_commands_per_change_bucket{le="2.0"}') == 1  # SET+PUBLISH
    assert metric(one, "kith_signal_redis_commands_per_change_count") == 2  # the first had HSET

    await alice.close()
    assert await bob.expect(TopicGone) == TopicGone(presence)
    assert (await subscribed(await Client.ready(two.url), presence)).retained == ()
    await bob.close()


async def test_second_login_on_another_process_replaces_the_first(
    cluster: SignalCluster,
) -> None:
    one, two = cluster.start(), cluster.start()
    keys = IdentityKeys.generate()
    first = await Client.ready(one.url, keys)
    second = await Client.ready(two.url, keys)
    closed = await first.closed()
    assert closed.code == wire.CloseCode.REPLACED
    await second.no_event(Disconnected)
    await second.close()


async def test_kill_9_of_a_process_announces_its_users_gone(cluster: SignalCluster) -> None:
    one, two = cluster.start(), cluster.start()
    alice, bob = await Client.ready(one.url), await Client.ready(two.url)
    presence = new_topic()
    await published(alice, presence, b"here")
    await subscribed(bob, presence)
    one.proc.send_signal(signal.SIGKILL)
    assert await bob.expect(TopicGone, within=REAPED_WITHIN) == TopicGone(presence)
    two.wait_for_log("event=reaped_process")
    late = await Client.ready(two.url)
    assert (await subscribed(late, presence)).retained == ()
    await bob.close()
    await late.close()


async def test_redis_down_keeps_local_users_and_converges_when_back(
    cluster: SignalCluster,
) -> None:
    one, two = cluster.start("--rate", "1000"), cluster.start("--rate", "1000")
    alice, carol = await Client.ready(one.url), await Client.ready(one.url)
    bob = await Client.ready(two.url)
    presence = new_topic()
    await published(alice, presence, b"v1")
    await subscribed(bob, presence)
    await subscribed(carol, presence)

    redis = cluster.redis[0]
    await asyncio.to_thread(redis.kill)  # no persistence: Redis comes back empty
    body = await health_is(one, 503)
    assert "redis shard 0" in body
    one.wait_for_log("event=redis_error")
    assert metric(one, 'kith_signal_redis_up{shard="0"}') == 0
    assert metric(one, 'kith_signal_redis_errors_total{shard="0"}') >= 1
    await published(alice, presence, b"v2")  # carol, on the same process, still sees it
    assert await carol.expect(TopicValue) == TopicValue(presence, b"v2")

    await asyncio.to_thread(redis.start)
    await health_is(one, 200)
    await health_is(two, 200)
    assert metric(one, 'kith_signal_redis_up{shard="0"}') == 1
    assert await bob.expect(TopicValue, lambda e: e.payload == b"v2", within=10) == TopicValue(
        presence, b"v2"
    )
    newcomer = await Client.ready(two.url)
    assert (await subscribed(newcomer, presence)).retained == ((presence, b"v2"),)
    await published(alice, presence, b"v3")
    assert await bob.expect(TopicValue, lambda e: e.payload == b"v3") == TopicValue(presence, b"v3")
    for client in (alice, bob, carol, newcomer):
        await client.close()


async def test_two_shards_carry_topics_between_processes(tmp_path: Path) -> None:
    cluster = SignalCluster(tmp_path, shards=2)
    try:
        one, two = cluster.start("--rate", "1000"), cluster.start("--rate", "1000")
        alice, bob = await Client.ready(one.url), await Client.ready(two.url)
        topics = [new_topic() for _ in range(16)]
        await subscribed(bob, *topics)
        for topic in topics:
            await published(alice, topic, b"v-" + topic[:4])
        got = {(await bob.expect(TopicValue)).topic for _ in topics}
        assert got == set(topics)
        held = [len(server.client().keys(b"kr:*")) for server in cluster.redis]
        assert sum(held) == 16
        assert all(count > 0 for count in held)  # 16 uniform topics: both shards hold some
        await alice.close()
        await bob.close()
    finally:
        cluster.close()


STATUS = b'{"status":"busy","text":"at the dentist until noon"}'


def identity_forms(keys: IdentityKeys) -> list[bytes]:
    raw = keys.public_key
    return [
        raw,
        keys.kith_id.encode(),
        raw.hex().encode(),
        base64.b64encode(raw),
        base64.urlsafe_b64encode(raw).rstrip(b"="),
    ]


async def test_redis_holds_no_status_key_or_id(cluster: SignalCluster) -> None:
    one, two = cluster.start("--rate", "1000"), cluster.start("--rate", "1000")
    keys = [IdentityKeys.generate(), IdentityKeys.generate()]
    alice, bob = await Client.ready(one.url, keys[0]), await Client.ready(two.url, keys[1])
    pair_key = os.urandom(32)
    nonce = os.urandom(12)
    sealed = nonce + ChaCha20Poly1305(pair_key).encrypt(nonce, STATUS, None)
    presence = new_topic()
    await subscribed(bob, presence)
    await published(alice, presence, sealed)
    assert (await bob.expect(TopicValue)).payload == sealed

    dump = b"\n".join(await asyncio.to_thread(cluster.redis[0].dump))
    assert any(sealed in item for item in [dump])  # the sealed value is there...
    for word in (b"dentist", b'"busy"', b"until noon", b'"status"'):
        assert word not in dump.lower()  # ...and nothing of what it says
    for identity in keys:
        for form in identity_forms(identity):
            assert form not in dump
    await alice.close()
    await bob.close()


async def test_sigterm_announces_gone_at_once_and_removes_the_process_keys(
    cluster: SignalCluster,
) -> None:
    one, two = cluster.start(), cluster.start()
    alice, bob = await Client.ready(one.url), await Client.ready(two.url)
    presence = new_topic()
    await published(alice, presence, b"here")
    await subscribed(bob, presence)
    assert await asyncio.to_thread(one.terminate) == 0
    assert await bob.expect(TopicGone, within=3.0) == TopicGone(presence)  # not the TTL
    client = cluster.redis[0].client()
    assert len(client.smembers(b"kprocs")) == 1  # only two is left
    assert len(client.keys(b"kp:*")) == 1
    assert client.keys(b"kr:*") == []
    await bob.close()


async def test_a_process_starts_while_redis_is_down_and_joins_when_it_comes(
    tmp_path: Path,
) -> None:
    cluster = SignalCluster(tmp_path)
    try:
        redis = cluster.redis[0]
        await asyncio.to_thread(redis.kill)
        lonely = SignalProcess(*cluster.flags(), "--cluster-ttl", "1.5", "--cluster-beat", "0.3")
        cluster.processes.append(lonely)
        assert "unhealthy: redis shard 0" in await health_is(lonely, 503)
        await asyncio.to_thread(redis.start)
        await health_is(lonely, 200)
        other = cluster.start()
        alice, bob = await Client.ready(lonely.url), await Client.ready(other.url)
        presence = new_topic()
        await subscribed(bob, presence)
        await published(alice, presence, b"joined")
        assert await bob.expect(TopicValue) == TopicValue(presence, b"joined")
        await alice.close()
        await bob.close()
    finally:
        cluster.close()
