"""Bare relays: the floor a signaling server's cost per delivery is held to.

A bare relay takes a ``{"type":"subscribe","topic":T}`` frame (the topic's
one subscriber) and ``{"topic":T,"payload":P}`` frames, looks the topic up in
a dict and sends ``{"type":"event","topic":T,"payload":P}`` to its
subscriber: no authentication, no limits, no retained values. Two kinds:
``websockets`` on asyncio, and ``picows`` on uvloop (when both are installed).

``python bench/signal_bare_relay.py serve KIND`` prints ``listening PORT``;
:func:`drive` connects ``connections`` clients in pairs and relays at a rate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any, Final

import msgspec

from signal_rawws import Inbound, RawClient

KINDS: Final = ("websockets", "picows")


class _Frame(msgspec.Struct):
    topic: str
    type: str = "publish"
    payload: str = ""


class _Event(msgspec.Struct, tag="event", tag_field="type"):
    topic: str
    payload: str


_decode: Final = msgspec.json.Decoder(_Frame).decode
_encode: Final = msgspec.json.Encoder().encode


class Relay:
    """The routing of both kinds: topic -> the one subscriber's send function."""

    def __init__(self) -> None:
        self.subscribers: dict[str, Any] = {}

    def receive(self, data: bytes | str, send: Any) -> None:
        frame = _decode(data)
        if frame.type == "subscribe":
            self.subscribers[frame.topic] = send
            return
        target = self.subscribers.get(frame.topic)
        if target is not None:
            target(_encode(_Event(frame.topic, frame.payload)))


async def _serve_websockets(relay: Relay) -> None:
    from websockets.asyncio.server import ServerConnection, serve

    sending: set[asyncio.Task[None]] = set()

    async def handle(ws: ServerConnection) -> None:
        def send(data: bytes) -> None:
            task = asyncio.ensure_future(ws.send(data.decode()))
            sending.add(task)
            task.add_done_callback(sending.discard)

        async for data in ws:
            relay.receive(data, send)

    async with serve(handle, "127.0.0.1", 0, compression=None, ping_interval=None) as server:
        print("listening", server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


async def _serve_picows(relay: Relay) -> None:
    from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_create_server

    class Listener(WSListener):
        def on_ws_connected(self, transport: WSTransport) -> None:
            self.send = lambda data: transport.send(WSMsgType.TEXT, data)

        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            if frame.msg_type == WSMsgType.TEXT:
                relay.receive(frame.get_payload_as_bytes(), self.send)
            elif frame.msg_type == WSMsgType.CLOSE:
                transport.disconnect()

    server = await ws_create_server(lambda _request: Listener(), "127.0.0.1", 0)
    print("listening", server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Future()


def available(kind: str) -> bool:
    """Whether ``kind`` can run here (picows and uvloop are optional)."""
    if kind == "websockets":
        return True
    try:
        import picows  # noqa: F401
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def serve(kind: str) -> None:
    """Run one bare relay until killed."""
    relay = Relay()
    if kind == "picows":
        import uvloop

        uvloop.run(_serve_picows(relay))
    else:
        asyncio.run(_serve_websockets(relay))


class _Client(RawClient):
    """A :class:`RawClient` without authentication: ready once upgraded."""

    def _upgrade(self) -> bool:
        upgraded = super()._upgrade()
        if upgraded and not self.ready.done():
            self.ready.set_result(None)
        return upgraded


async def drive(
    port: int,
    connections: int,
    rate: float,
    seconds: float,
    payload: bytes,
    cpu: Callable[[], float],
) -> dict[str, Any]:
    """Connect ``connections`` clients (client ``i`` subscribes to topic ``i``,
    client ``i+1`` publishes on it), relay at ``rate`` per second for
    ``seconds``; return what was sent and delivered, and the server's CPU
    seconds (``cpu()``) spent relaying them."""
    loop = asyncio.get_running_loop()
    counts = {"delivered": 0, "lost": 0}
    done, expected = asyncio.Event(), [connections * rate * seconds + 1]

    def on_frame(client: RawClient, frame: Inbound) -> None:
        counts["delivered"] += frame.type == "event"
        if counts["delivered"] >= expected[0]:
            done.set()

    def on_lost(client: RawClient, reason: str) -> None:
        counts["lost"] += 1

    url, host = f"ws://127.0.0.1:{port}", f"127.0.0.1:{port}"
    gate = asyncio.Semaphore(50)

    async def connect() -> RawClient:
        async with gate:
            _, client = await loop.create_connection(
                lambda: _Client(url, host, on_frame, on_lost), "127.0.0.1", port
            )
            await asyncio.wait_for(client.ready, 30)
            return client

    started = time.monotonic()
    clients = list(await asyncio.gather(*(connect() for _ in range(connections))))
    handshakes = connections / (time.monotonic() - started)
    for i, client in enumerate(clients):
        client.send(b'{"type":"subscribe","topic":"t%d"}' % i)
    frames = [b'{"topic":"t%d","payload":"%s"}' % (i, payload) for i in range(connections)]
    # Keep the subscribe burst out of the measured window (a subscription not
    # yet in place would show as an undelivered relay, not as a cheaper one).
    await asyncio.sleep(0.5)
    cpu_before, started, sent = cpu(), time.monotonic(), 0
    while (elapsed := time.monotonic() - started) < seconds:
        for _ in range(int(elapsed * rate) - sent):
            clients[(sent + 1) % connections].send(frames[sent % connections])
            sent += 1
        await asyncio.sleep(0.005)
    expected[0] = sent
    if counts["delivered"] < sent:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 10)
    relay_cpu = cpu() - cpu_before
    for client in clients:
        client.close()
    return {
        "sent": sent,
        **counts,
        "server_cpu_s": round(relay_cpu, 3),
        "handshakes_per_s": round(handshakes, 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("command", choices=["serve"])
    p.add_argument("kind", choices=KINDS)
    serve(p.parse_args().kind)


if __name__ == "__main__":
    main()
