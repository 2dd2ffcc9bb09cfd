"""The signaling client when the server goes away: restart, shutdown,
freeze (heartbeat timeout), and TLS."""

from __future__ import annotations

import signal
import ssl
import time
from pathlib import Path

import pytest

from kith.signaling import (
    Connected,
    ConnectionState,
    Disconnected,
    PresenceGone,
    PresenceValue,
)
from kith_testkit.signal.clients import new_token, new_topic
from kith_testkit.signal.process import WAIT, SignalServer
from kith_testkit.signaling_client import Running
from kith_testkit.tls import self_signed

HEARTBEAT = ("--heartbeat-interval", "0.3", "--heartbeat-timeout", "0.3")


async def test_restart_resubscribes_and_republishes() -> None:
    server = SignalServer()
    try:
        alice = await Running.connected(server.url)
        bob = await Running.connected(server.url)
        token, topic = new_token()
        alice.client.set_subscriptions([topic])
        bob.client.publish(token, b"online")
        await alice.expect(PresenceValue, lambda v: v.payload == b"online")

        server = server.restart()
        for side in (alice, bob):
            lost = await side.expect(Disconnected)
            assert lost.retry_in is not None
            await side.expect(Connected)
        # Same clients, no calls from the node: the contact sees the value again.
        value = await alice.expect(PresenceValue, lambda v: v.topic == topic)
        assert value.payload == b"online"
        await alice.close()
        await bob.close()
    finally:
        server.kill()


async def test_calls_never_block_while_the_server_is_down() -> None:
    server = SignalServer()
    try:
        alice = await Running.connected(server.url)
        bob = await Running.connected(server.url)
        token, topic = new_token()
        alice.client.set_subscriptions([topic])
        server.kill()
        await bob.expect(Disconnected)
        assert bob.client.state is not ConnectionState.CONNECTED

        started = time.perf_counter()
        bob.client.publish(token, b"busy")
        bob.client.set_subscriptions([new_topic()])
        bob.client.retract([new_topic()])
        assert time.perf_counter() - started < 0.25  # no network wait (that takes seconds)

        server = SignalServer(port=server.port)
        value = await alice.expect(PresenceValue, within=2 * WAIT)
        assert (value.topic, value.payload) == (topic, b"busy")
        await alice.close()
        await bob.close()
    finally:
        server.kill()


async def test_graceful_shutdown_is_retried_with_backoff() -> None:
    server = SignalServer()
    try:
        alice = await Running.connected(server.url)
        server.send(signal.SIGTERM)
        lost = await alice.expect(Disconnected)
        assert lost.reason == "shutting_down"
        assert lost.retry_in is not None
        server = SignalServer(port=server.port)
        await alice.client.wait_connected(2 * WAIT)
        await alice.close()
    finally:
        server.kill()


async def test_frozen_server_is_detected_by_heartbeat_timeout() -> None:
    server = SignalServer(*HEARTBEAT)
    try:
        alice = await Running.connected(
            server.url, heartbeat_interval=0.3, heartbeat_timeout=0.3, open_timeout=1.0
        )
        token, topic = new_token()
        watcher = await Running.connected(server.url)
        watcher.client.set_subscriptions([topic])
        alice.client.publish(token, b"online")
        await watcher.expect(PresenceValue)

        server.send(signal.SIGSTOP)
        started = time.monotonic()
        lost = await alice.expect(Disconnected, within=5.0)
        assert lost.reason == "heartbeat_timeout"
        # 0.3 s interval + 0.3 s timeout + 0.3 s close wait, with room for a busy machine.
        assert time.monotonic() - started < 3.0
        assert lost.retry_in is not None

        server.send(signal.SIGCONT)
        await alice.client.wait_connected(2 * WAIT)
        await watcher.client.wait_connected(2 * WAIT)
        await alice.close()
        await watcher.close()
    finally:
        server.kill()


async def test_lost_publisher_is_announced_gone_to_subscriber() -> None:
    server = SignalServer()
    try:
        alice = await Running.connected(server.url)
        bob = await Running.connected(server.url)
        token, topic = new_token()
        alice.client.set_subscriptions([topic])
        bob.client.publish(token, b"online")
        await alice.expect(PresenceValue)
        await bob.close()
        gone = await alice.expect(PresenceGone)
        assert gone.topic == topic
        await alice.close()
    finally:
        server.kill()


async def test_wss_url_uses_tls(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server = SignalServer("--tls-cert", str(cert), "--tls-key", str(key))
    try:
        assert server.url.startswith("wss://")
        context = ssl.create_default_context(cafile=str(cert))
        alice = await Running.connected(server.url, ssl_context=context)
        await alice.close()
    finally:
        server.kill()


async def test_untrusted_certificate_is_a_retried_connect_failure(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server = SignalServer("--tls-cert", str(cert), "--tls-key", str(key))
    try:
        from kith.signaling import SignalingClient
        from kith_proto import IdentityKeys

        running = Running(SignalingClient(IdentityKeys.generate(), server.url))
        lost = await running.expect(Disconnected)
        assert lost.reason == "connect_failed"
        assert lost.retry_in is not None
        assert "certificate" in lost.detail.lower()
        await running.close()
    finally:
        server.kill()


@pytest.mark.parametrize("url", ["http://127.0.0.1:1", "not a url"])
def test_bad_url_is_refused_at_construction(url: str) -> None:
    from kith.signaling import SignalingClient
    from kith_proto import IdentityKeys

    with pytest.raises(ValueError, match=url):
        SignalingClient(IdentityKeys.generate(), url)


def test_tls_context_with_plain_url_is_refused() -> None:
    from kith.signaling import SignalingClient
    from kith_proto import IdentityKeys

    with pytest.raises(ValueError, match="wss"):
        SignalingClient(
            IdentityKeys.generate(), "ws://127.0.0.1:1", ssl_context=ssl.create_default_context()
        )
