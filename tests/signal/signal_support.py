"""Test support for the signaling server: a real ``kith-signal`` subprocess
and real WebSocket clients driving the sans-I/O client core."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection as WebSocket
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from kith_proto import IdentityKeys, wire
from kith_proto.client_core import ClientConnection, ClientEvent, Disconnected

WAIT = 5.0
E = TypeVar("E")


def new_topic() -> bytes:
    return os.urandom(32)


class SignalProcess:
    """A ``kith-signal`` subprocess on 127.0.0.1, port 0, with captured logs."""

    def __init__(self, *flags: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kith_signal.cli", "--port", "0", *flags],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        line = self.wait_for_log("event=listening", timeout=15)
        match = re.search(r" port=(\d+)", line)
        assert match, line
        self.port = int(match.group(1))
        url = re.search(r" public_url=(\S+)", line)
        assert url, line
        self.url = url.group(1)
        scheme = "https" if self.url.startswith("wss:") else "http"
        self.http = f"{scheme}://127.0.0.1:{self.port}"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for_log(self, needle: str, timeout: float = WAIT, start: int = 0) -> str:
        """Block until a log line containing ``needle`` appears."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines[start:]:
                    if needle in line:
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no log line with {needle!r}:\n" + "\n".join(self.lines))
                self._changed.wait(remaining)

    def wait_for_count(self, needle: str, count: int, timeout: float = WAIT) -> None:
        """Block until ``count`` log lines contain ``needle``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while sum(needle in line for line in self.lines) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"fewer than {count} lines with {needle!r}")
                self._changed.wait(remaining)

    def log_text(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def terminate(self, timeout: float = WAIT) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT)
        self._reader.join(WAIT)


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

    async def send_raw(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def close(self) -> None:
        await self.ws.close()
        if self.reader is not None:
            await asyncio.wait_for(self.reader, WAIT)


def running(*flags: str) -> Iterator[SignalProcess]:
    """Body of a fixture: one server with ``flags``, stopped afterwards."""
    process = SignalProcess(*flags)
    yield process
    process.stop()


def starter() -> Iterator[Callable[..., SignalProcess]]:
    """Body of a fixture: start servers with given flags; all stopped afterwards."""
    started: list[SignalProcess] = []

    def start(*flags: str) -> SignalProcess:
        process = SignalProcess(*flags)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
