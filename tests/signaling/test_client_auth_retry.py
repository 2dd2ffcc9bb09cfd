"""A refused sign-in is retried with backoff, and says which URL was dialled."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kith.signaling import Disconnected, SignalingClient
from kith_proto import IdentityKeys
from kith_testkit.signal.process import SignalServer
from kith_testkit.signaling_client import FAST_BACKOFF, Running


@pytest.fixture(scope="module")
def server() -> Iterator[SignalServer]:
    process = SignalServer()
    yield process
    process.kill()


def _other_name(url: str) -> str:
    """The same server under a URL it does not announce (its signatures bind the URL)."""
    return url.rstrip("/") + "/"


async def test_auth_failed_is_retried_with_backoff(server: SignalServer) -> None:
    wrong = _other_name(server.url)
    client = SignalingClient(IdentityKeys.generate(), wrong, policy=FAST_BACKOFF)
    running = Running(client)
    first = await running.expect(Disconnected)
    second = await running.expect(Disconnected)
    assert first.reason == second.reason == "auth_failed"
    assert first.retry_in is not None
    assert second.retry_in is not None
    assert not running.task.done()
    await running.close()


async def test_auth_failed_names_the_url_dialled_and_the_one_expected(
    server: SignalServer,
) -> None:
    wrong = _other_name(server.url)
    running = Running(SignalingClient(IdentityKeys.generate(), wrong, policy=FAST_BACKOFF))
    ended = await running.expect(Disconnected)
    assert ended.detail.startswith("wrong_server")
    assert f"this one is {server.url}" in ended.detail
    assert f"we dialled {wrong}" in ended.detail
    await running.close()


async def test_localhost_for_a_server_on_127_0_0_1_is_refused_naming_both(
    server: SignalServer,
) -> None:
    # The URL is signed and compared exactly (docs/deploy.md says why aliases are not taken).
    assert server.url.startswith("ws://127.0.0.1:")
    dialled = server.url.replace("127.0.0.1", "localhost")
    running = Running(SignalingClient(IdentityKeys.generate(), dialled, policy=FAST_BACKOFF))
    ended = await running.expect(Disconnected)
    assert ended.reason == "auth_failed"
    assert f"this one is {server.url}" in ended.detail
    assert f"we dialled {dialled}" in ended.detail
    assert ended.retry_in is not None
    await running.close()
