"""The managed garbage-collection policy: the pure schedule, and a real
embedded server whose closed connections are reclaimed by the sweeps."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable, Iterator

import pytest

from kith_proto.client_core import SubscriptionConfirmed
from kith_proto.server_core import ServerConfig
from kith_signal.gc_policy import GcPolicy, GcSchedule, GcSettings, Sweep
from kith_signal.keepalive import JitteredConnection
from kith_signal.memory_broker import InProcessBroker
from kith_signal.metrics import Metrics
from kith_signal.server import ServerOptions, SignalServer
from kith_testkit.signal.clients import Client, new_topic
from kith_testkit.signal.process import WAIT

SETTINGS = GcSettings(interval=60, sweep_after_opens=10, deep_after_closes=5, deep_fraction=0.5)


def test_nothing_is_due_on_a_quiet_server() -> None:
    schedule = GcSchedule(SETTINGS, now=0.0)
    assert schedule.due(30.0, live=100) is None


def test_light_sweep_after_the_interval_or_enough_opens() -> None:
    schedule = GcSchedule(SETTINGS, now=0.0)
    assert schedule.due(60.0, live=0) is Sweep.LIGHT
    for _ in range(10):
        schedule.opened()
    assert schedule.due(1.0, live=10) is Sweep.LIGHT
    schedule.swept(Sweep.LIGHT, 1.0)
    assert schedule.due(2.0, live=10) is None


def test_only_connections_alive_at_a_freeze_count_towards_a_deep_sweep() -> None:
    schedule = GcSchedule(SETTINGS, now=10.0)
    for _ in range(5):
        schedule.closed(opened_at=11.0)  # never frozen: a light sweep reclaims it
    assert schedule.due(12.0, live=0) is None
    for _ in range(5):
        schedule.closed(opened_at=9.0)
    assert schedule.due(12.0, live=0) is Sweep.DEEP
    schedule.swept(Sweep.DEEP, 12.0)
    assert schedule.due(13.0, live=0) is None


def test_deep_sweep_budget_grows_with_the_open_connections() -> None:
    schedule = GcSchedule(SETTINGS, now=10.0)
    for _ in range(6):
        schedule.closed(opened_at=0.0)
    assert schedule.due(11.0, live=100) is None  # 6 < 0.5 x 100
    assert schedule.due(11.0, live=10) is Sweep.DEEP


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        GcSettings(interval=0)
    with pytest.raises(ValueError, match="must be >= 1"):
        GcSettings(deep_after_closes=0)


@pytest.fixture
def restore_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def live_connections() -> int:
    """Server-side WebSocket connections still in memory (closed ones sit in
    reference cycles: only a collection frees them)."""
    gc.unfreeze()  # count what is alive, frozen or not, without collecting
    count = sum(type(o) is JitteredConnection for o in gc.get_objects())
    gc.freeze()
    return count


async def cycle(url: str, clients: int, while_open: Callable[[], object] = lambda: None) -> None:
    opened = [await Client.ready(url) for _ in range(clients)]
    for client in opened:
        await client.call(client.core.subscribe, [new_topic()])
        await client.expect(SubscriptionConfirmed)
    while_open()
    for client in opened:
        await client.close()


async def test_closed_connections_are_reclaimed_by_the_sweeps(restore_gc: None) -> None:
    log = logging.getLogger("kith_signal.test")
    settings = GcSettings(
        interval=3600, sweep_after_opens=10_000, deep_after_closes=20, check_every=0.05
    )
    policy = GcPolicy(settings, log, time.monotonic)
    server = SignalServer(
        ServerOptions(port=0),
        ServerConfig(public_url="", rate=1000, burst=1000),
        InProcessBroker(),
        metrics=Metrics(),
        log=log,
        clock=time.monotonic,
        gc_policy=policy,
    )
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[None] = loop.create_future()
    listening: asyncio.Future[str] = loop.create_future()
    task = asyncio.create_task(server.run(stop, listening=listening, handle_signals=False))
    url = await asyncio.wait_for(listening, WAIT)
    try:
        await cycle(url, 10)
        baseline = len(gc.get_objects()) + gc.get_freeze_count()
        for _ in range(3):
            # Freeze the sessions while they live: closed, they are frozen
            # garbage that only the deep sweep (after 20 closes) reclaims.
            await cycle(url, 20, lambda: policy.sweep(Sweep.LIGHT, 20))
            async with asyncio.timeout(WAIT):
                while live_connections():  # noqa: ASYNC110 (polling the heap)
                    await asyncio.sleep(0.05)
        policy.sweep(Sweep.DEEP, 0)
        grown = len(gc.get_objects()) + gc.get_freeze_count() - baseline
        assert grown < 20 * 60, f"{grown} more tracked objects after 60 connections came and went"
    finally:
        stop.set_result(None)
        await asyncio.wait_for(task, WAIT)
    assert gc.get_freeze_count() == 0  # stop() gave the heap back
