"""Operating the server: health, metrics, HTTP on the WebSocket port, TLS."""

from __future__ import annotations

import asyncio
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kith_proto.client_core import RequestAcked, ServerError, SubscriptionConfirmed, TopicValue
from kith_signal.transport import TRANSPORTS
from kith_testkit.signal.clients import Client, new_topic, token_for
from kith_testkit.signal.process import WAIT, SignalProcess, running, starter
from kith_testkit.tls import self_signed


@pytest.fixture(scope="module", params=TRANSPORTS)
def server(request: pytest.FixtureRequest) -> Iterator[SignalProcess]:
    """The same real server over each WebSocket transport (``--transport``)."""
    yield from running("--rate", "1000", "--transport", request.param)


@pytest.fixture
def start_server() -> Iterator[Callable[..., SignalProcess]]:
    yield from starter()


async def http_get(url: str, context: ssl.SSLContext | None = None) -> tuple[int, str, str]:
    def get() -> tuple[int, str, str]:
        try:
            with urllib.request.urlopen(url, timeout=WAIT, context=context) as response:
                body = response.read().decode()
                return response.status, response.headers["Content-Type"], body
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers["Content-Type"], exc.read().decode()

    return await asyncio.to_thread(get)


async def test_healthz_answers_on_the_websocket_port(server: SignalProcess) -> None:
    assert await http_get(server.http + "/healthz") == (200, "text/plain; charset=utf-8", "ok\n")


async def test_unknown_path_is_404(server: SignalProcess) -> None:
    status, _, _ = await http_get(server.http + "/nope")
    assert status == 404


async def test_metrics_count_traffic(server: SignalProcess) -> None:
    alice, bob = await Client.ready(server.url), await Client.ready(server.url)
    topic = new_topic()
    await bob.call(bob.core.subscribe, [topic])
    await bob.expect(SubscriptionConfirmed)
    await alice.call(alice.core.publish, token_for(topic), b"x")
    await bob.expect(TopicValue)
    await alice.call(alice.core.relay, topic, b"offer")
    await alice.expect(RequestAcked)
    await alice.call(alice.core.relay, new_topic(), b"offer")
    await alice.expect(ServerError)
    status, content_type, body = await http_get(server.http + "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    for needle in (
        "kith_signal_connections 2.0",
        "kith_signal_publishes_total",
        'kith_signal_deliveries_total{kind="event"}',
        'kith_signal_relays_total{result="delivered"}',
        'kith_signal_relays_total{result="offline"}',
        'kith_signal_errors_total{code="peer_offline"}',
        "kith_signal_frame_seconds_bucket",
        "kith_signal_auth_seconds_count",
    ):
        assert needle in body, needle
    await alice.close()
    await bob.close()


async def test_tls_serves_wss_and_https(
    start_server: Callable[..., SignalProcess], tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path)
    server = start_server("--tls-cert", str(cert), "--tls-key", str(key))
    assert server.url.startswith("wss://127.0.0.1:")
    context = ssl.create_default_context(cafile=str(cert))
    client = await Client.ready(server.url, ssl=context)
    await client.call(client.core.subscribe, [new_topic()])
    await client.expect(SubscriptionConfirmed)
    await client.close()
    assert (await http_get(server.http + "/healthz", context))[0] == 200


async def test_invalid_utf8_text_frame_is_closed_1007(server: SignalProcess) -> None:
    client = await Client.open(server.url)
    await client.ws.send(b"\xff\xfe not utf-8", text=True)
    await asyncio.wait_for(client.ws.wait_closed(), WAIT)
    assert client.ws.close_code == 1007
