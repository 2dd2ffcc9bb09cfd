"""Helpers for the signaling client's tests: a real ``kith-signal`` process
and a wrapper that runs a :class:`SignalingClient` and reads its events."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from kith.signaling import BackoffPolicy, SignalingClient, SignalingEvent
from kith_proto import IdentityKeys

WAIT = 5.0
FAST_BACKOFF = BackoffPolicy(base=0.05, cap=0.3)
E = TypeVar("E")


def new_topic() -> bytes:
    """A random 32-byte topic."""
    return os.urandom(32)


class SignalServer:
    """A ``kith-signal`` subprocess on 127.0.0.1 (port 0 unless given)."""

    def __init__(self, *flags: str, port: int = 0) -> None:
        self.flags = flags
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kith_signal.cli", "--port", str(port), *flags],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._listening = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._listening.wait(15):
            self.kill()
            raise AssertionError("kith-signal did not start:\n" + "\n".join(self.lines))
        line = next(line for line in self.lines if "event=listening" in line)
        port_match = re.search(r" port=(\d+)", line)
        url_match = re.search(r" public_url=(\S+)", line)
        assert port_match, line
        assert url_match, line
        self.port = int(port_match.group(1))
        self.url = url_match.group(1)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if "event=listening" in line:
                self._listening.set()

    def restart(self) -> SignalServer:
        """Kill this process and start a new one on the same port."""
        self.kill()
        return SignalServer(*self.flags, port=self.port)

    def send(self, signum: signal.Signals) -> None:
        """Send a signal (SIGSTOP, SIGCONT, SIGTERM...) to the server."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)

    def kill(self) -> None:
        """Kill the server at once (SIGCONT first, in case it is stopped)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
        self.proc.wait(WAIT)


class Running:
    """A :class:`SignalingClient` whose ``run()`` is a task, with its events."""

    def __init__(self, client: SignalingClient) -> None:
        self.client = client
        self.stream = client.events()
        self.seen: list[SignalingEvent] = []
        self.task = asyncio.create_task(client.run())

    @classmethod
    async def connected(
        cls, url: str, keys: IdentityKeys | None = None, **options: object
    ) -> Running:
        """Start a client and wait until it is authenticated."""
        options.setdefault("policy", FAST_BACKOFF)
        client = SignalingClient(keys or IdentityKeys.generate(), url, **options)  # type: ignore[arg-type]
        running = cls(client)
        await client.wait_connected(WAIT)
        return running

    async def expect(
        self, kind: type[E], where: Callable[[E], bool] = lambda _: True, within: float = WAIT
    ) -> E:
        """The next event of ``kind`` matching ``where``; others are kept in ``seen``."""
        async with asyncio.timeout(within):
            async for event in self.stream:
                self.seen.append(event)
                if isinstance(event, kind) and where(event):
                    return event
        raise AssertionError(f"events ended before {kind.__name__}; saw {self.seen}")

    async def quiet(self, kind: type[object], settle: float = 0.3) -> None:
        """Assert that no event of ``kind`` arrives within ``settle`` seconds."""
        with contextlib.suppress(TimeoutError):
            event = await self.expect(kind, within=settle)
            raise AssertionError(f"unexpected {event!r}")

    async def close(self) -> None:
        """Close the client and wait for ``run()`` to return."""
        await self.client.close()
        await asyncio.wait_for(self.task, WAIT)


def elapsed_since(start: float) -> float:
    """Seconds since ``start`` (``time.monotonic``)."""
    return time.monotonic() - start
