"""PeerLink through a real ``kith-signal`` subprocess and the real SignalingClient."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from kith.p2p import ChannelOpen, FrameReceived, LinkEvent, LinkState, PeerLink, PeerP2PError
from kith.signaling import BackoffPolicy, PeerOffline, RelayMessage, SignalingClient
from kith_proto.keys import IdentityKeys
from kith_proto.pair import derive_pair_key, relay_topic

WAIT = 10.0


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kith_signal.cli", "--port", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    found: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            match = re.search(r"event=listening.* public_url=(\S+)", line)
            if match:
                found.append(match.group(1))
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(15), "kith-signal did not start"
        yield found[0]
    finally:
        proc.kill()
        proc.wait(WAIT)
        reader.join(WAIT)
        assert proc.stdout is not None
        proc.stdout.close()


@dataclass
class Node:
    """The part of a node that carries signals: client, link and a pump task."""

    client: SignalingClient
    link: PeerLink
    tasks: list[asyncio.Task[None]]

    async def close(self) -> None:
        await self.link.close()
        await self.client.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def start_node(url: str, own: IdentityKeys, peer: IdentityKeys) -> Node:
    pair_key = derive_pair_key(own, peer.public_key)
    outbox = relay_topic(pair_key, own.public_key, peer.public_key).raw
    inbox = relay_topic(pair_key, peer.public_key, own.public_key).raw
    client = SignalingClient(own, url, policy=BackoffPolicy(base=0.05, cap=0.3))

    async def send_signal(payload: bytes) -> None:
        await client.relay(outbox, payload)

    link = PeerLink(own, peer.public_key, send_signal)

    async def pump() -> None:
        async for event in client.events():
            if isinstance(event, RelayMessage) and event.topic == inbox:
                try:
                    await link.accept(event.payload)
                except PeerP2PError:
                    continue

    client.set_subscriptions([inbox])
    node = Node(client, link, [asyncio.create_task(client.run()), asyncio.create_task(pump())])
    await client.wait_connected(WAIT)
    return node


@pytest.fixture
async def nodes(
    server_url: str, alice: IdentityKeys, bob: IdentityKeys
) -> AsyncIterator[tuple[Node, Node]]:
    a = await start_node(server_url, alice, bob)
    b = await start_node(server_url, bob, alice)
    yield a, b
    await a.close()
    await b.close()


async def open_when_subscribed(link: PeerLink) -> None:
    """Offer; while the peer's subscription has not reached the server, the
    relay answers "offline" and the link is idle again, so offer again."""
    async with asyncio.timeout(WAIT):
        while True:
            try:
                await link.open()
                return
            except PeerOffline:
                continue  # each try is a round trip to the server


async def event(link: PeerLink) -> LinkEvent:
    return await asyncio.wait_for(link.next_event(), WAIT)


async def test_channel_opens_through_the_real_server(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    await open_when_subscribed(a.link)
    assert await event(a.link) == ChannelOpen(offerer=True)
    assert await event(b.link) == ChannelOpen(offerer=False)
    b.link.send(b"via a real relay")
    assert await event(a.link) == FrameReceived(b"via a real relay")


async def test_offer_to_an_offline_contact_fails_at_once(
    server_url: str, alice: IdentityKeys, bob: IdentityKeys
) -> None:
    a = await start_node(server_url, alice, bob)
    try:
        with pytest.raises(PeerOffline):
            await a.link.open()
        assert a.link.state is LinkState.IDLE
    finally:
        await a.close()
