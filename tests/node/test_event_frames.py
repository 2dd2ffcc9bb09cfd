"""The events socket's burst write: frames as RFC 6455 lays them out, and a real
client reading a burst as separate messages in order."""

from __future__ import annotations

import json
import struct
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from kith.api.events_ws import EventsEndpoint
from kith.api.json_text import json_bytes, json_text
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
    assert text_frames([b"\xc3\xa9", "ab"]) == b"\x81\x02\xc3\xa9\x81\x02ab"  # bytes: UTF-8 as is
    assert text_frames([]) == b""


def test_json_text_is_compact_utf8_json() -> None:
    value = {"type": "message", "text": "héllo 👋", "n": 1.5, "none": None, "ok": [True]}
    assert (
        json_bytes(value)
        == '{"type":"message","text":"héllo 👋","n":1.5,"none":null,"ok":[true]}'.encode()
    )
    assert json.loads(json_text(value)) == value


def test_text_utf8_cannot_carry_still_encodes_as_json_escapes() -> None:
    value = {"text": "a\ud800b"}  # a lone surrogate: json.loads lets a request body carry one
    assert json_bytes(value) == b'{"text": "a\\ud800b"}'
    assert json.loads(json_text(value)) == value


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


async def test_a_lone_event_and_one_utf8_cannot_carry_arrive_as_text(
    served: tuple[EventHub, str],
) -> None:
    hub, url = served
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.receive_json(timeout=5)
        assert hub.listening  # subscribed before the snapshot was sent
        hub.publish(ContactsChangedEvent("é\ud800", "added"))
        first = await ws.receive(timeout=5)
        hub.publish(ContactsChangedEvent("after", "added"))
        second = await ws.receive_json(timeout=5)
    assert first.type is aiohttp.WSMsgType.TEXT
    assert json.loads(first.data)["id"] == "é\ud800"
    assert second["id"] == "after"  # the socket went on


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
