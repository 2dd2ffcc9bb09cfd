"""Real WebSocket clients of ``kith-signal`` driving the sans-I/O client core."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection as WebSocket
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from kith_proto import IdentityKeys, wire
from kith_proto.client_core import (
    ClientConnection,
    ClientEvent,
    Disconnected,
    MailboxFetched,
    RequestAcked,
    ServerError,
)
from kith_testkit.signal.process import WAIT

E = TypeVar("E")


_TOKENS: dict[bytes, bytes] = {}


def new_topic() -> bytes:
    """A random 32-byte topic; :func:`token_for` gives its publish token."""
    return new_token()[1]


def new_token() -> tuple[bytes, bytes]:
    """A random publish token and the topic it opens (``wire.token_topic``)."""
    token = os.urandom(32)
    topic = wire.token_topic(token)
    _TOKENS[topic] = token
    return token, topic


def token_for(topic: bytes) -> bytes:
    """The publish token of a topic made by :func:`new_topic` in this process."""
    return _TOKENS[topic]


@dataclass
class Client:
    """A real WebSocket client driving :class:`ClientConnection`."""

    ws: WebSocket
    core: ClientConnection
    keys: IdentityKeys
    events: asyncio.Queue[ClientEvent] = field(default_factory=asyncio.Queue)
    history: list[ClientEvent] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls,
        url: str,
        keys: IdentityKeys | None = None,
        *,
        signed_url: str | None = None,
        subprotocols: Sequence[str] = (wire.SUBPROTOCOL,),
        **kwargs: Any,
    ) -> Client:
        keys = keys or IdentityKeys.generate()
        ws = await connect(
            url,
            subprotocols=[Subprotocol(s) for s in subprotocols] or None,
            compression=None,
            open_timeout=WAIT,
            **kwargs,
        )
        client = cls(ws, ClientConnection(keys, signed_url or url), keys)
        client.reader = asyncio.create_task(client._read())
        return client

    @classmethod
    async def ready(cls, url: str, keys: IdentityKeys | None = None, **kwargs: Any) -> Client:
        from kith_proto.client_core import Authenticated

        client = await cls.open(url, keys, **kwargs)
        await client.expect(Authenticated)
        return client

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                for event in self.core.receive(data, time.monotonic()):
                    self.events.put_nowait(event)
                await self.flush()
        except ConnectionClosed:
            pass
        code = self.ws.close_code
        for event in self.core.connection_closed(code, self.ws.close_reason or ""):
            self.events.put_nowait(event)

    async def flush(self) -> None:
        for frame in self.core.data_to_send():
            await self.ws.send(frame)

    async def expect(
        self, kind: type[E], where: Callable[[E], bool] = lambda _: True, within: float = WAIT
    ) -> E:
        """The next event of ``kind`` matching ``where``; others are kept in history."""
        async with asyncio.timeout(within):
            while True:
                event = await self.events.get()
                self.history.append(event)
                if isinstance(event, kind) and where(event):
                    return event

    async def closed(self, within: float = WAIT) -> Disconnected:
        return await self.expect(Disconnected, within=within)

    async def no_event(self, kind: type[object], settle: float = 0.3) -> None:
        """Assert nothing of ``kind`` arrives within ``settle`` seconds."""
        try:
            event = await self.expect(kind, within=settle)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected {event!r}")

    async def call(self, method: Callable[..., int], *args: object) -> int:
        ref = method(*args)
        await self.flush()
        return ref

    async def deposit(self, topic: bytes, item: bytes) -> RequestAcked | ServerError:
        """Leave a sealed item in the mailbox of ``topic``: acked or refused."""
        ref = await self.call(self.core.mailbox_deposit, topic, item)
        event = await self.expect(object, lambda e: getattr(e, "ref", None) == ref)
        assert isinstance(event, RequestAcked | ServerError)
        return event

    async def fetch(self, token: bytes) -> MailboxFetched:
        """The items waiting in the mailbox ``token`` opens."""
        ref = await self.call(self.core.mailbox_fetch, token)
        return await self.expect(MailboxFetched, lambda e: e.ref == ref)

    async def ack(self, token: bytes, ids: list[int]) -> None:
        """Delete fetched items ``ids`` from the mailbox ``token`` opens."""
        ref = await self.call(self.core.mailbox_ack, token, ids)
        await self.expect(RequestAcked, lambda e: e.ref == ref)

    async def send_raw(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def close(self) -> None:
        await self.ws.close()
        if self.reader is not None:
            await asyncio.wait_for(self.reader, WAIT)
