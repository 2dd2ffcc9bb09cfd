"""Liveness against a real server: heartbeat timeouts and graceful shutdown."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from kith_proto import wire
from kith_proto.client_core import ServerGoodbye, SubscriptionConfirmed, TopicGone, TopicValue
from kith_proto.wire import CloseCode
from kith_signal.transport import TRANSPORTS
from kith_testkit.signal.clients import Client, new_token
from kith_testkit.signal.process import WAIT, SignalProcess, starter

HEARTBEAT = ("--heartbeat-interval", "0.3", "--heartbeat-timeout", "0.3")


@pytest.fixture
def start_server() -> Iterator[Callable[..., SignalProcess]]:
    yield from starter()


@pytest.fixture
def client_process() -> Iterator[Callable[[str, bytes], subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []

    def start(url: str, token: bytes) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kith_testkit.liveness_client", url, wire.encode_topic(token)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.kill()
        proc.wait(WAIT)


async def watch(url: str, topic: bytes) -> Client:
    """A contact that waits for the client process's presence."""
    watcher = await Client.ready(url)
    await watcher.call(watcher.core.subscribe, [topic])
    confirmed = await watcher.expect(SubscriptionConfirmed)
    if not confirmed.retained:
        await watcher.expect(TopicValue)
    return watcher


async def ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 15)
    assert line.strip() == "ready"


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("how", [signal.SIGSTOP, signal.SIGKILL])
async def test_frozen_or_killed_client_is_announced_gone_within_heartbeat(
    start_server: Callable[..., SignalProcess],
    client_process: Callable[[str, bytes], subprocess.Popen[str]],
    how: signal.Signals,
    transport: str,
) -> None:
    server = start_server(*HEARTBEAT, "--transport", transport)
    token, topic = new_token()
    proc = client_process(server.url, token)
    await ready(proc)
    watcher = await watch(server.url, topic)
    started = time.monotonic()
    proc.send_signal(how)
    assert await watcher.expect(TopicGone, within=5.0) == TopicGone(topic)
    # interval + timeout + close wait = 0.9 s, plus slack for a loaded machine;
    # without heartbeats a frozen peer would never be announced at all.
    assert time.monotonic() - started < 0.9 + 2.0
    await watcher.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_sigterm_tells_clients_to_reconnect(
    start_server: Callable[..., SignalProcess], transport: str
) -> None:
    server = start_server("--transport", transport)
    client = await Client.ready(server.url)
    server.proc.send_signal(signal.SIGTERM)
    bye = await client.expect(ServerGoodbye)
    assert (bye.code, bye.reconnect) == ("shutting_down", True)
    closed = await client.closed()
    assert (closed.code, closed.reconnect) == (CloseCode.SERVICE_RESTART, True)
    assert await asyncio.to_thread(server.proc.wait, WAIT) == 0
    server.wait_for_log("event=stopped")
