"""The events socket's burst write: frames as RFC 6455 lays them out, and a real
client reading a burst as separate messages in order."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from kith.api.events_ws import EventsEndpoint
from kith.api.ws_frames import text_frames
from kith.runtime.live import ConnectionEvent, ContactsChangedEvent, EventHub, NodeEvent


@pytest.mark.parametrize(
    ("size", "header"),
    [
        (0, b"\x81\x00"),
        (125, b"\x81\x7d"),
        (126, b"\x81\x7e" + struct.pack("!H", 126)),
        (65535, b"\x81\x7e" + struct.pack("!H", 65535)),
        (65536, b"\x81\x7f" + struct.pack("!Q", 65536)),
    ],
)
def test_a_frame_carries_its_length_in_the_shortest_form(size: int, header: bytes) -> None:
    assert text_frames(["y" * size]) == header + b"y" * size


def test_frames_follow_each_other_and_count_utf8_bytes() -> None:
    assert text_frames(["é", "ab"]) == b"\x81\x02\xc3\xa9\x81\x02ab"
    assert text_frames([]) == b""


@pytest.fixture
async def served() -> AsyncIterator[tuple[EventHub, str]]:
    hub = EventHub()
    snapshot: list[NodeEvent] = [ConnectionEvent("connected")]
    endpoint = EventsEndpoint(hub, lambda: snapshot)
    app = web.Application()
    app.router.add_get("/events", endpoint.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield hub, f"http://127.0.0.1:{port}/events"
    await endpoint.close_all()
    await runner.cleanup()


async def test_a_burst_arrives_as_separate_messages_in_order(
    served: tuple[EventHub, str],
) -> None:
    hub, url = served
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        assert await ws.receive_json(timeout=5) == {"type": "connection", "state": "connected"}
        assert hub.listening  # subscribed before the snapshot was sent
        big = "z" * 70000
        for i in range(300):  # published in one turn: one burst
            hub.publish(ContactsChangedEvent(big if i == 150 else f"c{i}", "added"))
        received = [await ws.receive_json(timeout=5) for _ in range(300)]
    assert [r["id"] for r in received] == [big if i == 150 else f"c{i}" for i in range(300)]
    assert ws.compress == 0  # offered by the client, declined by the node


async def test_a_closed_hub_ends_the_stream_after_the_pending_events(
    served: tuple[EventHub, str],
) -> None:
    hub, url = served
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.receive_json(timeout=5)
        assert hub.listening  # subscribed before the snapshot was sent
        hub.publish(ContactsChangedEvent("a", "added"))
        hub.publish(ContactsChangedEvent("b", "added"))
        hub.close()
        ids = [(await ws.receive_json(timeout=5))["id"] for _ in range(2)]
        closing = await ws.receive(timeout=5)
    assert ids == ["a", "b"]
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
