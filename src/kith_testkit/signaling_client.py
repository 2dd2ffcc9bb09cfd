"""A :class:`kith.signaling.SignalingClient` running as a task, with its events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TypeVar

from kith.signaling import BackoffPolicy, SignalingClient, SignalingEvent
from kith_proto import IdentityKeys
from kith_testkit.signal.process import WAIT

FAST_BACKOFF = BackoffPolicy(base=0.05, cap=0.3)
E = TypeVar("E")


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
