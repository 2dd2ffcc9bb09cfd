"""A client given several signaling servers (real ``kith-signal`` processes):
a dead one is skipped, and losing the connected one moves it to another."""

from __future__ import annotations

import socket

import pytest

from kith.signaling import Connected, Disconnected, PresenceValue, SignalingClient
from kith_proto import IdentityKeys
from kith_testkit.signal.clients import new_token
from kith_testkit.signal.process import WAIT, SignalServer
from kith_testkit.signaling_client import FAST_BACKOFF, Running


class InOrder:
    """Dial the URLs in the order given (the real order is a shuffle)."""

    def shuffle(self, x: list[str]) -> None:
        return None


def dead_url() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"ws://127.0.0.1:{probe.getsockname()[1]}"


def several(*urls: str) -> Running:
    client = SignalingClient(
        IdentityKeys.generate(), list(urls), policy=FAST_BACKOFF, shuffler=InOrder()
    )
    return Running(client)


async def test_a_dead_first_server_is_skipped_for_the_next() -> None:
    server = SignalServer()
    dead = dead_url()
    running = several(dead, server.url)
    try:
        failed = await running.expect(Disconnected)
        assert failed.reason == "connect_failed"
        assert dead in failed.detail
        connected = await running.expect(Connected)
        assert connected.url == running.client.url == server.url
    finally:
        await running.close()
        server.kill()


async def test_losing_the_connected_server_moves_to_the_other_and_publishes_there() -> None:
    first, second = SignalServer(), SignalServer()
    running = several(first.url, second.url)
    watcher = await Running.connected(second.url)
    token, topic = new_token()
    try:
        await running.client.wait_connected(WAIT)
        assert running.client.url == first.url
        running.client.publish(token, b"busy")
        watcher.client.set_subscriptions([topic])
        await watcher.quiet(PresenceValue)  # not published on the second server yet
        first.kill()
        lost = await running.expect(Disconnected)
        assert lost.retry_in is not None
        connected = await running.expect(Connected)
        assert connected.url == running.client.url == second.url
        seen = await watcher.expect(PresenceValue)
        assert seen.payload == b"busy"
    finally:
        await running.close()
        await watcher.close()
        first.kill()
        second.kill()


def test_one_bad_url_among_several_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="http://bad:1"):
        SignalingClient(IdentityKeys.generate(), ["ws://good:1", "http://bad:1"])


def test_no_url_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        SignalingClient(IdentityKeys.generate(), [])
