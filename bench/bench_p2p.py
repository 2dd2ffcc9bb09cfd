"""P2P benchmarks: raw aiortc data channel versus the layers above it.

Run: ``.venv/bin/python bench/bench_p2p.py`` (or ``make bench``).
Two peers in one process on loopback, no STUN. For each layer: time to an
open channel (p50), round trip of a 100-byte message (p50/p99), one-way
throughput of 100-byte messages and process CPU per message.

* ``raw aiortc``: two RTCPeerConnections, SDP handed over directly.
* ``PeerLink``: sealed signals through an in-memory relay, typed events.
* ``PeerLink + SecureChannel``: plus the session handshake (open time) and
  Double Ratchet encryption of every message.
* ``+ Conversation``: plus chat frames, ordering/dedupe and a delivered
  receipt back for every message (no database).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection

from benchlib import percentile, report
from kith.chat import Conversation, new_message_id
from kith.chat.events import SendFrame as ChatSend
from kith.p2p import (
    ChannelOpen,
    FrameReceived,
    LinkEvent,
    MessageReceived,
    PeerLink,
    SecureChannel,
    SecureState,
    SendData,
)
from kith_proto.keys import IdentityKeys

OPENS = 15
ROUND_TRIPS = 1000
MESSAGES = 10_000
PAYLOAD = b"x" * 100

Echo = Callable[[bytes], None]


# -- raw aiortc -------------------------------------------------------------


async def raw_pair() -> tuple[
    float, RTCPeerConnection, RTCPeerConnection, RTCDataChannel, RTCDataChannel
]:
    start = time.perf_counter()
    a, b = (
        RTCPeerConnection(RTCConfiguration(iceServers=[])),
        RTCPeerConnection(RTCConfiguration(iceServers=[])),
    )
    da = a.createDataChannel("kith", negotiated=True, id=0)
    db = b.createDataChannel("kith", negotiated=True, id=0)
    opened = [asyncio.Event(), asyncio.Event()]
    da.on("open", opened[0].set)
    db.on("open", opened[1].set)
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(b.localDescription)
    await asyncio.gather(opened[0].wait(), opened[1].wait())
    return time.perf_counter() - start, a, b, da, db


async def bench_raw() -> dict[str, Any]:
    opens = []
    for _ in range(OPENS):
        took, a, b, _, _ = await raw_pair()
        opens.append(took)
        await a.close()
        await b.close()
    _, a, b, da, db = await raw_pair()
    inbox: asyncio.Queue[bytes] = asyncio.Queue()
    da.on("message", inbox.put_nowait)
    db.on("message", lambda m: db.send(m))
    rtts = await _round_trips(lambda: da.send(PAYLOAD), inbox.get)
    db.remove_all_listeners("message")
    sink: asyncio.Queue[bytes] = asyncio.Queue()
    db.on("message", sink.put_nowait)
    rate, cpu = await _throughput(lambda: da.send(PAYLOAD), sink.get)
    await a.close()
    await b.close()
    return _row("raw aiortc data channel", opens, rtts, rate, cpu)


async def raw_one_way() -> tuple[float, float]:
    """Messages per second one way on a fresh raw channel, and CPU µs per
    message of this process (both peers): the anchor other benchmarks run
    beside their own bursts."""
    _, a, b, da, db = await raw_pair()
    sink: asyncio.Queue[bytes] = asyncio.Queue()
    db.on("message", sink.put_nowait)
    try:
        return await _throughput(lambda: da.send(PAYLOAD), sink.get)
    finally:
        await a.close()
        await b.close()


# -- PeerLink and SecureChannel --------------------------------------------


def link_pair(
    alice: IdentityKeys, bob: IdentityKeys
) -> tuple[PeerLink, PeerLink, list[asyncio.Task[None]]]:
    links: dict[str, PeerLink] = {}
    tasks: list[asyncio.Task[None]] = []

    def relay(target: str) -> Callable[[bytes], Awaitable[None]]:
        async def send(payload: bytes) -> None:
            tasks.append(asyncio.ensure_future(links[target].accept(payload)))

        return send

    links["a"] = PeerLink(alice, bob.public_key, relay("b"))
    links["b"] = PeerLink(bob, alice.public_key, relay("a"))
    return links["a"], links["b"], tasks


async def frame_of(link: PeerLink) -> bytes:
    event = await link.next_event()
    assert isinstance(event, FrameReceived), event
    return event.data


async def open_links() -> tuple[float, PeerLink, PeerLink]:
    a, b, _ = link_pair(IdentityKeys.generate(), IdentityKeys.generate())
    start = time.perf_counter()
    await a.open()
    first: list[LinkEvent] = [await a.next_event(), await b.next_event()]
    assert all(isinstance(e, ChannelOpen) for e in first), first
    return time.perf_counter() - start, a, b


async def bench_link() -> dict[str, Any]:
    opens = []
    for _ in range(OPENS):
        took, a, b = await open_links()
        opens.append(took)
        await a.close()
        await b.close()
    _, a, b = await open_links()
    echo = asyncio.ensure_future(_echo(b, lambda data: data))
    rtts = await _round_trips(lambda: a.send(PAYLOAD), lambda: frame_of(a))
    echo.cancel()
    rate, cpu = await _throughput(lambda: a.send(PAYLOAD), lambda: frame_of(b))
    await a.close()
    await b.close()
    return _row("PeerLink (sealed signals)", opens, rtts, rate, cpu)


async def _echo(link: PeerLink, transform: Callable[[bytes], bytes]) -> None:
    while True:
        link.send(transform(await frame_of(link)))


async def open_secure() -> tuple[float, PeerLink, PeerLink, SecureChannel, SecureChannel]:
    alice, bob = IdentityKeys.generate(), IdentityKeys.generate()
    a, b, _ = link_pair(alice, bob)
    sa, sb = SecureChannel(alice, bob.public_key), SecureChannel(bob, alice.public_key)
    start = time.perf_counter()
    await a.open()
    await a.next_event()
    await b.next_event()
    a.send(sa.start().data)
    await asyncio.gather(_handshake(a, sa), _handshake(b, sb))
    return time.perf_counter() - start, a, b, sa, sb


async def _handshake(link: PeerLink, channel: SecureChannel) -> None:
    while channel.state is SecureState.HANDSHAKING:
        for out in channel.receive(await frame_of(link)):
            if isinstance(out, SendData):
                link.send(out.data)


def _opened(channel: SecureChannel, data: bytes) -> bytes:
    (event,) = channel.receive(data)
    assert isinstance(event, MessageReceived)
    return event.plaintext


async def bench_secure() -> dict[str, Any]:
    opens = []
    for _ in range(OPENS):
        took, a, b, _, _ = await open_secure()
        opens.append(took)
        await a.close()
        await b.close()
    _, a, b, sa, sb = await open_secure()
    echo = asyncio.ensure_future(_echo(b, lambda data: sb.seal(_opened(sb, data)).data))

    async def reply() -> bytes:
        return _opened(sa, await frame_of(a))

    rtts = await _round_trips(lambda: a.send(sa.seal(PAYLOAD).data), reply)
    echo.cancel()

    async def receive() -> bytes:
        return _opened(sb, await frame_of(b))

    rate, cpu = await _throughput(lambda: a.send(sa.seal(PAYLOAD).data), receive)
    await a.close()
    await b.close()
    return _row("PeerLink + SecureChannel", opens, rtts, rate, cpu)


async def bench_conversation() -> dict[str, Any]:
    _, a, b, sa, sb = await open_secure()
    ca, cb = Conversation(), Conversation()
    for chat in (ca, cb):
        chat.contact_online(0.0)
        chat.channel_open(0.0)
    text = "x" * 100

    def send() -> None:
        for event in ca.send_text(new_message_id(), text, time.time()):
            if isinstance(event, ChatSend):
                a.send(sa.seal(event.data).data)

    async def receiver() -> None:
        while True:
            for event in cb.receive(_opened(sb, await frame_of(b)), time.time()):
                if isinstance(event, ChatSend):
                    b.send(sb.seal(event.data).data)

    async def receipt() -> bytes:
        data = _opened(sa, await frame_of(a))
        ca.receive(data, time.time())
        return data

    task = asyncio.ensure_future(receiver())
    rtts = await _round_trips(send, receipt)
    rate, cpu = await _throughput(send, receipt)
    task.cancel()
    await a.close()
    await b.close()
    row = _row("+ Conversation (frames, receipts)", [], rtts, rate, cpu)
    row["open_p50_ms"] = "-"
    return row


# -- measurement --------------------------------------------------------------


async def _round_trips(
    send: Callable[[], None], reply: Callable[[], Awaitable[bytes]]
) -> list[float]:
    samples = []
    for _ in range(ROUND_TRIPS):
        start = time.perf_counter()
        send()
        await reply()
        samples.append(time.perf_counter() - start)
    return samples


async def _throughput(
    send: Callable[[], None], receive: Callable[[], Awaitable[bytes]]
) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()

    async def consume() -> None:
        for _ in range(MESSAGES):
            await receive()

    consumer = asyncio.ensure_future(consume())
    for number in range(MESSAGES):
        send()
        if number % 100 == 99:
            await asyncio.sleep(0)  # let the transports run, as a real sender does
    await asyncio.wait_for(consumer, 120)
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    return MESSAGES / elapsed, used / MESSAGES * 1e6


def _row(
    case: str, opens: list[float], rtts: list[float], rate: float, cpu: float
) -> dict[str, Any]:
    row: dict[str, Any] = {"case": case}
    if opens:
        row["open_p50_ms"] = percentile(opens, 50) * 1000
    row["rtt_p50_ms"] = percentile(rtts, 50) * 1000
    row["rtt_p99_ms"] = percentile(rtts, 99) * 1000
    row["msgs_per_s"] = rate
    row["cpu_us_per_msg"] = cpu
    return row


async def main() -> None:
    rows = [await bench_raw(), await bench_link(), await bench_secure(), await bench_conversation()]
    base = rows[0]["msgs_per_s"]
    for row in rows:
        row["throughput_vs_raw"] = row["msgs_per_s"] / base
    report(
        "p2p",
        rows,
        {"payload_bytes": len(PAYLOAD), "round_trips": ROUND_TRIPS, "messages": MESSAGES},
    )


if __name__ == "__main__":
    asyncio.run(main())
