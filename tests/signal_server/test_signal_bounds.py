"""Bounded server against a real ``kith-signal``: the retained-bytes cap, the
size of ``subscribe`` replies, connections per address, and who reads
``/metrics``. Each with the good case next to the bad one."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kith_proto import wire
from kith_proto.client_core import (
    RequestAcked,
    ServerError,
    ServerGoodbye,
    SubscriptionConfirmed,
    TopicValue,
)
from kith_proto.wire import CloseCode
from kith_signal.transport import TRANSPORTS
from kith_testkit.signal.clients import Client
from kith_testkit.signal.process import WAIT, SignalProcess, starter

MiB = 1024 * 1024
FAST = ("--rate", "10000", "--burst", "10000")


@pytest.fixture
def start_server() -> Iterator[Callable[..., SignalProcess]]:
    yield from starter()


def rss(server: SignalProcess) -> int:
    status = Path(f"/proc/{server.proc.pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert match, status
    return int(match.group(1)) * 1024


async def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    def get() -> tuple[int, str]:
        request = urllib.request.Request(url, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=WAIT) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    return await asyncio.to_thread(get)


def topic_of(key: bytes) -> bytes:
    """The topic that ``client.core.publish(key, ...)`` sets: the key itself
    in ``kith.v1``, the topic its publish token opens once tokens exist."""
    token_topic = getattr(wire, "token_topic", None)
    return key if token_topic is None else bytes(token_topic(key))


def metric(body: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", body, re.MULTILINE)
    assert match, body
    return float(match.group(1))


async def publish(client: Client, key: bytes, payload: bytes) -> str | None:
    """Publish and wait for the outcome: ``None`` (acked) or the error code."""
    ref = await client.call(client.core.publish, key, payload)

    def answers(event: object) -> bool:
        return isinstance(event, RequestAcked | ServerError) and event.ref == ref

    outcome = await client.expect(object, answers)
    return outcome.code if isinstance(outcome, ServerError) else None


async def subscribed(client: Client, topics: list[bytes]) -> SubscriptionConfirmed:
    """Subscribe and wait for the reply."""
    ref = await client.call(client.core.subscribe, topics)
    return await client.expect(SubscriptionConfirmed, lambda e: e.ref == ref)


async def publish_until_refused(client: Client, count: int, size: int) -> int:
    """Publish ``count`` values of ``size`` bytes; how many were taken before
    the first ``retained_full``."""
    for taken in range(count):
        code = await publish(client, os.urandom(32), b"r" * size)
        if code is not None:
            assert code == wire.ErrorCode.RETAINED_FULL
            return taken
    return count


# -- the retained-bytes cap ---------------------------------------------------


async def test_retained_cap_refuses_with_its_code_and_rss_stays_bounded(
    start_server: Callable[..., SignalProcess],
) -> None:
    server = start_server("--max-retained-bytes", "2M", *FAST)
    clients = [await Client.ready(server.url) for _ in range(4)]
    before = rss(server)
    # 4 x 300 x 30 KB = 36 MB offered; the server takes 2 MiB of it.
    taken = [await publish_until_refused(c, 300, 30_000) for c in clients]
    assert sum(taken) == 2 * MiB // 30_000
    assert rss(server) - before < 24 * MiB
    status, body = await http_get(server.http + "/metrics")
    assert status == 200
    assert metric(body, "kith_signal_retained_bytes") == sum(taken) * 30_000
    assert 'kith_signal_errors_total{code="retained_full"}' in body
    for client in clients:
        await client.close()


async def test_retained_cap_makes_room_when_a_publisher_leaves(
    start_server: Callable[..., SignalProcess],
) -> None:
    server = start_server("--max-retained-bytes", "100K", *FAST)
    first, second = await Client.ready(server.url), await Client.ready(server.url)
    assert await publish_until_refused(first, 10, 30_000) == 3
    assert await publish(second, os.urandom(32), b"r" * 30_000) == "retained_full"
    await first.close()
    await server_has_no_retained_values(server)
    assert await publish(second, os.urandom(32), b"r" * 30_000) is None
    await second.close()


async def test_a_server_at_its_retained_cap_keeps_serving_everyone(
    start_server: Callable[..., SignalProcess],
) -> None:
    server = start_server("--max-retained-bytes", "100K", *FAST)
    holder, refused = await Client.ready(server.url), await Client.ready(server.url)
    keys = [os.urandom(32) for _ in range(3)]
    for key in keys:  # 90,000 of 102,400 bytes
        assert await publish(holder, key, b"h" * 30_000) is None
    assert await publish(refused, os.urandom(32), b"r" * 30_000) == "retained_full"
    # The refused client is still connected and served: what fits is taken.
    small = os.urandom(32)
    assert await publish(refused, small, b"s" * 1_000) is None
    watcher = await Client.ready(server.url)
    reply = await subscribed(watcher, [topic_of(keys[0]), topic_of(small)])
    assert sorted(len(payload) for _, payload in reply.retained) == [1_000, 30_000]
    # A new value in place of an old one of the same size goes through, live.
    assert await publish(holder, keys[0], b"n" * 30_000) is None
    update = await watcher.expect(TopicValue)
    assert update == TopicValue(topic_of(keys[0]), b"n" * 30_000)
    for client in (holder, refused, watcher):
        await client.close()


async def server_has_no_retained_values(server: SignalProcess) -> None:
    async with asyncio.timeout(WAIT):
        while True:
            _, body = await http_get(server.http + "/metrics")
            if metric(body, "kith_signal_retained_bytes") == 0:
                return
            await asyncio.sleep(0.05)  # polling a metric: no event to await


# -- subscribe replies --------------------------------------------------------


async def test_repeated_subscribe_brings_no_retained_values_again(
    start_server: Callable[..., SignalProcess],
) -> None:
    server = start_server(*FAST)
    publisher, subscriber = await Client.ready(server.url), await Client.ready(server.url)
    keys = [os.urandom(32) for _ in range(20)]
    for key in keys:
        assert await publish(publisher, key, b"v" * 20_000) is None
    topics = [topic_of(key) for key in keys]
    first = await subscribed(subscriber, topics)
    assert sum(len(payload) for _, payload in first.retained) == 20 * 20_000
    assert (await subscribed(subscriber, topics)).retained == ()
    new_key = os.urandom(32)
    assert await publish(publisher, new_key, b"n") is None
    mixed = await subscribed(subscriber, [*topics, topic_of(new_key)])
    assert mixed.retained == ((topic_of(new_key), b"n"),)
    await publisher.close()
    await subscriber.close()


async def test_subscribe_reply_pays_rate_tokens_by_its_bytes(
    start_server: Callable[..., SignalProcess],
) -> None:
    # A small bucket that refills at once: only the reply's size can exhaust it.
    server = start_server("--rate", "100000", "--burst", "10", "--reply-bytes-per-token", "4096")
    publisher, subscriber = await Client.ready(server.url), await Client.ready(server.url)
    keys = [os.urandom(32) for _ in range(20)]
    for key in keys:
        assert await publish(publisher, key, b"v" * 4000) is None
    topics = [topic_of(key) for key in keys]
    # 20 values of about 5.4 KB: 27 tokens, more than a bucket of 10 can pay.
    ref = await subscriber.call(subscriber.core.subscribe, topics)
    error = await subscriber.expect(ServerError, lambda e: e.ref == ref)
    assert error.code == wire.ErrorCode.RATE_LIMITED
    # Nothing was subscribed: a few at a time, each gets its values.
    for chunk in (topics[:3], topics[3:6]):
        reply = await subscribed(subscriber, chunk)
        assert [topic for topic, _ in reply.retained] == chunk
    await publisher.close()
    await subscriber.close()


# -- connections per address --------------------------------------------------


async def test_connections_per_address_are_limited(
    start_server: Callable[..., SignalProcess],
) -> None:
    server = start_server("--max-connections-per-address", "2")
    first, second = await Client.ready(server.url), await Client.ready(server.url)
    third = await Client.open(server.url)
    bye = await third.expect(ServerGoodbye)
    assert (bye.code, bye.reconnect) == ("too_many_connections", True)
    assert (await third.closed()).code == CloseCode.TRY_AGAIN_LATER
    await first.close()
    server.wait_for_count("event=disconnected", 1)
    fourth = await Client.ready(server.url)
    await fourth.close()
    await second.close()


async def test_a_trusted_proxy_is_not_limited_per_address(
    start_server: Callable[..., SignalProcess],
) -> None:
    server = start_server("--max-connections-per-address", "1", "--trusted-proxy", "127.0.0.1")
    clients = [await Client.ready(server.url) for _ in range(3)]
    for client in clients:
        await client.close()


# -- metrics ------------------------------------------------------------------


def metrics_port(server: SignalProcess) -> int:
    line = server.wait_for_log("event=metrics_listening")
    match = re.search(r" port=(\d+)", line)
    assert match, line
    return int(match.group(1))


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_metrics_on_their_own_port_and_not_on_the_public_one(
    start_server: Callable[..., SignalProcess], transport: str
) -> None:
    server = start_server("--metrics-port", "0", "--transport", transport)
    status, body = await http_get(f"http://127.0.0.1:{metrics_port(server)}/metrics")
    assert status == 200
    assert "kith_signal_connections" in body
    assert (await http_get(server.http + "/metrics"))[0] == 404
    assert await http_get(server.http + "/healthz") == (200, "ok\n")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_metrics_token_is_required_when_configured(
    start_server: Callable[..., SignalProcess], tmp_path: Path, transport: str
) -> None:
    token = "m3tr1cs-" + os.urandom(8).hex()
    token_file = tmp_path / "metrics.token"
    token_file.write_text(token + "\n")
    server = start_server("--metrics-token-file", str(token_file), "--transport", transport)
    url = server.http + "/metrics"
    good = await http_get(url, {"Authorization": f"Bearer {token}"})
    assert good[0] == 200
    assert "kith_signal_connections" in good[1]
    assert (await http_get(url))[0] == 401
    assert (await http_get(url, {"Authorization": f"Bearer {token}x"}))[0] == 401
    assert (await http_get(url, {"Authorization": f"Basic {token}"}))[0] == 401
    assert token not in server.log_text()


def test_metrics_token_file_that_cannot_be_read_is_a_usage_error(tmp_path: Path) -> None:
    for content in (None, "", "two words"):
        path = tmp_path / "token"
        if content is not None:
            path.write_text(content)
        result = subprocess.run(
            [sys.executable, "-m", "kith_signal.cli", "--metrics-token-file", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 2, result.stderr
        assert "--metrics-token-file" in result.stderr
        assert "Traceback" not in result.stderr
        if content:
            assert content not in result.stderr


@pytest.mark.parametrize("value", ["lots", "-5", "0", "12T"])
def test_bad_retained_cap_is_a_usage_error(value: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kith_signal.cli", "--max-retained-bytes", value],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "--max-retained-bytes" in result.stderr


# -- noise from unauthenticated requests --------------------------------------


async def test_oversized_header_bytes_never_reach_the_log(
    start_server: Callable[..., SignalProcess],
) -> None:
    server = start_server()
    marker = "SECRETHEADERBYTES"

    def send_oversized() -> bytes:
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
            sock.sendall(
                b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + f"X-Big: {marker * 1000}\r\n\r\n".encode()
            )
            return sock.recv(100)

    assert (await asyncio.to_thread(send_oversized)).startswith(b"HTTP/1.1 431")
    assert await http_get(server.http + "/healthz") == (200, "ok\n")
    assert marker not in server.log_text()
