"""Sealing and publishing presence records without blocking the event loop.

One status change seals one envelope per contact. A few hundred take a few
milliseconds and are done at once; thousands are sealed in chunks of
:data:`CHUNK`, yielding to the event loop between chunks, so that no single
step keeps the loop (the API, the peer links, the signaling heartbeat) waiting
for long. Publications run strictly in the order they were submitted: a later
record never reaches a contact before an earlier one, and a retraction comes
after the records submitted before it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from kith_proto.pair import PairChannel, PresenceRecord

__all__ = ["CHUNK", "Publication", "PublicationQueue", "PublishPort"]

CHUNK: Final = 256
"""Envelopes sealed in one step (about 1 ms of work on a small machine)."""


class PublishPort(Protocol):
    """What publishing needs from the signaling client."""

    def publish(self, token: bytes, payload: bytes) -> None:
        """Set our retained value on the topic the publish ``token`` opens."""
        ...

    def retract(self, tokens: Iterable[bytes]) -> None:
        """Withdraw our values on the topics the publish ``tokens`` open."""
        ...


@dataclass(frozen=True, slots=True)
class Publication:
    """Records to seal for their channels, then topics to retract (by token).

    Attributes:
        items: Each channel with the record sealed for it.
        retract: Publish tokens whose topics' values are withdrawn after the
            items are out.
    """

    items: Sequence[tuple[PairChannel, PresenceRecord]]
    retract: Sequence[bytes] = ()


class PublicationQueue:
    """Runs publications in order, small ones at once, large ones in chunks.

    Args:
        signaling: Where sealed records go.
        log: Where a failed publication goes (a bug; the queue goes on).
        chunk: Envelopes per step.
    """

    def __init__(self, signaling: PublishPort, log: logging.Logger, chunk: int = CHUNK) -> None:
        self._signaling = signaling
        self._log = log
        self._chunk = chunk
        self._pending: deque[Publication] = deque()
        self._worker: asyncio.Task[None] | None = None

    @property
    def idle(self) -> bool:
        """Whether everything submitted has been published."""
        return self._worker is None

    def submit(self, publication: Publication) -> None:
        """Publish now if nothing waits and it is small; otherwise queue it."""
        if self._worker is None and len(publication.items) <= self._chunk:
            self._run_now(publication)
            return
        self._pending.append(publication)
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._drain())

    def clear(self) -> None:
        """Drop what has not been published yet (the connection is gone and
        the server forgot our values: publishing resumes from scratch)."""
        self._pending.clear()
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None

    async def flush(self) -> None:
        """Wait until everything submitted has been published."""
        while self._worker is not None:
            await asyncio.wait({self._worker})

    def _run_now(self, publication: Publication) -> None:
        for channel, record in publication.items:
            self._signaling.publish(channel.publish_token, channel.seal(record))
        if publication.retract:
            self._signaling.retract(publication.retract)

    async def _drain(self) -> None:
        try:
            while self._pending:
                publication = self._pending.popleft()
                items = publication.items
                for start in range(0, len(items), self._chunk):
                    self._run_now(Publication(items[start : start + self._chunk]))
                    await asyncio.sleep(0)
                if publication.retract:
                    self._signaling.retract(publication.retract)
        except Exception:
            self._log.exception("could not publish presence")
        finally:
            if asyncio.current_task() is self._worker:
                self._worker = None
