"""One file transfer as a state machine, on either side (pure).

An :class:`Outgoing` transfer (ours, to a contact) and an :class:`Incoming`
one (a contact's, to us) take frames and channel news and return
:data:`Action` values for the runtime to carry out in order: send a frame,
send a range of chunks, store a chunk, verify the stored file, discard it.
Neither awaits, reads a clock or touches a disk.

States (the same words on both sides):

| state | meaning |
|---|---|
| ``queued`` | waiting for the contact (not offered on this channel yet) |
| ``sending`` | chunks are moving |
| ``paused`` | the channel closed (resumes on the next one), or ``held`` by the user |
| ``received`` | the receiver stored the whole file and its SHA-256 matched |
| ``failed`` | refused, or the hash did not match (``reason`` says which) |
| ``cancelled`` | either side cancelled |

A transfer the user paused has ``reason`` ``held``: a held sender sends no
chunks and offers nothing until the user resumes it (then it offers again);
a held receiver refuses chunks (so the sender's window fills and it stops)
and accepts no offer until the user resumes it (then it sends ``Accept``).

Flow control: the sender keeps at most ``window`` chunks beyond the last
``Ack``, so the data channel's buffer stays bounded whatever the file size.
Resume: the receiver's ``Accept(have)`` names how many leading chunks it
already holds (verified on its disk); the sender goes on from there. A chunk
that does not arrive in order (one the session refused as tampered, say) makes
the receiver send ``Accept(have)`` again, once per gap, and the sender rewinds.
On a new channel the receiver also sends ``Ack(have)`` for each unfinished
transfer: a sender that cancelled meanwhile (or forgot the transfer) answers
``Cancel``, so a receiver that was away never waits for ever.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final, TypeAlias

from kith.chat.model import short_id
from kith.files.frames import (
    CHUNK_SIZE,
    Accept,
    Ack,
    Cancel,
    CancelReason,
    Chunk,
    Done,
    FileFrame,
    Offer,
    chunk_count,
)

__all__ = [
    "DEFAULT_WINDOW",
    "HELD",
    "Action",
    "Discard",
    "Incoming",
    "Outgoing",
    "SendChunks",
    "SendFrame",
    "StoreChunk",
    "TransferState",
    "Verify",
    "chunk_length",
]

DEFAULT_WINDOW: Final = 32
"""Chunks in flight beyond the last acknowledgement (2 MiB at 64 KiB)."""
HELD: Final = "held"
"""The ``reason`` of a transfer the user paused."""


class TransferState(enum.StrEnum):
    """Where a transfer is (see the module docstring)."""

    QUEUED = "queued"
    SENDING = "sending"
    PAUSED = "paused"
    RECEIVED = "received"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        """Whether nothing more happens to the transfer."""
        return self in _FINAL


_FINAL: Final = frozenset({TransferState.RECEIVED, TransferState.FAILED, TransferState.CANCELLED})


@dataclass(frozen=True, slots=True)
class SendFrame:
    """Send this frame on the open channel (dropped if none is open)."""

    frame: FileFrame


@dataclass(frozen=True, slots=True)
class SendChunks:
    """Read chunks ``start`` to ``stop - 1`` from the stored file and send each."""

    start: int
    stop: int


@dataclass(frozen=True, slots=True)
class StoreChunk:
    """Append chunk ``index`` to the partial file (before the ``Ack`` that follows)."""

    index: int
    data: bytes

    def __repr__(self) -> str:
        return f"StoreChunk({self.index}, <{len(self.data)} bytes>)"


@dataclass(frozen=True, slots=True)
class Verify:
    """Every chunk is stored: hash the stored file and call :meth:`Incoming.verified`."""


@dataclass(frozen=True, slots=True)
class Discard:
    """Delete the partial or unverified file."""


Action: TypeAlias = SendFrame | SendChunks | StoreChunk | Verify | Discard


def chunk_length(size: int, index: int) -> int:
    """The length of chunk ``index`` of a ``size``-byte file."""
    return min(CHUNK_SIZE, size - index * CHUNK_SIZE)


def _reason(reason: str | None) -> CancelReason:
    """The wire reason for a stored one (``cancelled`` for anything else)."""
    if reason in ("refused", "too_large", "hash_mismatch", "failed"):
        return reason  # type: ignore[return-value]
    return "cancelled"


def _end_state(reason: CancelReason) -> TransferState:
    return TransferState.CANCELLED if reason == "cancelled" else TransferState.FAILED


class _Transfer:
    def __init__(self, offer: Offer, state: TransferState, have: int, reason: str | None) -> None:
        self.offer = offer
        self.state = state
        self.have = have
        """Leading chunks the receiver holds (as far as this side knows)."""
        self.reason = reason
        """Why the transfer failed or was cancelled (``None`` otherwise)."""
        self.chunks = chunk_count(offer.size)

    @property
    def id(self) -> str:
        return self.offer.id

    @property
    def held(self) -> bool:
        """Whether the user paused the transfer (it waits for :meth:`resume`)."""
        return self.state is TransferState.PAUSED and self.reason == HELD

    def _hold(self) -> list[Action]:
        if self.state.final:
            return []
        self.state = TransferState.PAUSED
        self.reason = HELD
        return []

    @property
    def bytes_done(self) -> int:
        """Bytes the receiver holds."""
        return min(self.have * CHUNK_SIZE, self.offer.size)

    def _cancel_reason(self) -> CancelReason:
        return _reason(self.reason)

    def _end(self, reason: CancelReason) -> None:
        self.state = _end_state(reason)
        self.reason = reason

    def __repr__(self) -> str:
        name, progress = type(self).__name__, f"{self.have}/{self.chunks}"
        return f"{name}({short_id(self.id)}, {self.state}, {progress})"


class Outgoing(_Transfer):
    """Our file to a contact.

    Args:
        offer: What we offer (the stored file's name, size and SHA-256).
        state: Where the transfer was (``queued`` for a new one).
        have: Chunks the receiver confirmed before (a paused transfer).
        window: Chunks in flight beyond the last acknowledgement.
    """

    def __init__(
        self,
        offer: Offer,
        *,
        state: TransferState = TransferState.QUEUED,
        have: int = 0,
        reason: str | None = None,
        window: int = DEFAULT_WINDOW,
    ) -> None:
        super().__init__(offer, state, have, reason)
        self._window = window
        self._next = have
        """The next chunk to send on this channel."""

    def channel_open(self) -> list[Action]:
        """A channel with an established session opened: offer (again), unless held."""
        if self.state.final or self.held:
            return []
        self.state = TransferState.QUEUED
        return [SendFrame(self.offer)]

    def pause(self) -> list[Action]:
        """The user pauses: no more chunks until :meth:`resume` (the receiver keeps
        what it has; what is in flight arrives or is sent again)."""
        return self._hold()

    def resume(self) -> list[Action]:
        """The user resumes a paused transfer: offer it again (the receiver's accept
        says where to go on from)."""
        if not self.held:
            return []
        self.reason = None
        self.state = TransferState.QUEUED
        return [SendFrame(self.offer)]

    def channel_closed(self) -> None:
        """The channel closed: what is in flight is lost; resume on the next one."""
        if self.state is TransferState.SENDING:
            self.state = TransferState.PAUSED

    def cancel(self) -> list[Action]:
        """The user cancels (nothing happens to a finished transfer)."""
        if self.state.final:
            return []
        self._end("cancelled")
        return [SendFrame(Cancel(self.id, "cancelled"))]

    def receive(self, frame: FileFrame) -> list[Action]:
        """A frame from the receiver about this transfer (an ``ack`` or ``accept``
        for one that ended tells the receiver how it ended: it may have missed it)."""
        if self.state in (TransferState.CANCELLED, TransferState.FAILED):
            if isinstance(frame, Accept | Ack):
                return [SendFrame(Cancel(self.id, self._cancel_reason()))]
            return []
        if self.state.final:
            return []
        match frame:
            case Accept(have=have):
                if have > self.chunks:
                    return self._fail()
                if self.held:
                    self.have = self._next = have
                    return []
                self.state = TransferState.SENDING
                self.have = have
                self._next = have
                return self._fill()
            case Ack(have=have):
                if self.state is not TransferState.SENDING or have > self._next:
                    return [] if have <= self.chunks else self._fail()
                self.have = max(self.have, have)
                return self._fill()
            case Done():
                # the receiver may hold everything already (we restarted): its word ends it
                self.state = TransferState.RECEIVED
                self.have = self.chunks
                return []
            case Cancel(reason=reason):
                self._end(reason)
                return []
        return []  # an offer or a chunk is not for the sender

    def _fill(self) -> list[Action]:
        stop = min(self.chunks, self.have + self._window)
        if stop <= self._next:
            return []
        start, self._next = self._next, stop
        return [SendChunks(start, stop)]

    def _fail(self) -> list[Action]:
        self._end("failed")
        return [SendFrame(Cancel(self.id, "failed"))]


class Incoming(_Transfer):
    """A contact's file to us.

    Args:
        offer: What the contact offered (the name as sent; sanitise before use).
        state: Where the transfer was (``sending`` for a new one).
        have: Leading chunks already stored and verified on disk.
    """

    def __init__(
        self,
        offer: Offer,
        *,
        state: TransferState = TransferState.SENDING,
        have: int = 0,
        reason: str | None = None,
    ) -> None:
        super().__init__(offer, state, have, reason)
        self._asked_at: int | None = None
        """``have`` when we last sent ``Accept`` (one rewind per gap)."""

    def pause(self) -> list[Action]:
        """The user pauses: chunks are refused (so the sender's window fills and it
        stops) until :meth:`resume`."""
        return self._hold()

    def resume(self) -> list[Action]:
        """The user resumes: ask the sender for the rest."""
        if not self.held:
            return []
        self.reason = None
        self.state = TransferState.SENDING
        self._asked_at = self.have
        return [SendFrame(Accept(self.id, self.have))]

    def offered(self) -> list[Action]:
        """The contact offered this file (first time or after a reconnect; a held
        transfer is not accepted until the user resumes it)."""
        if self.held:
            return []
        if self.state is TransferState.RECEIVED:
            return [SendFrame(Done(self.id))]
        if self.state.final:
            return [SendFrame(Cancel(self.id, self._cancel_reason()))]
        if self.have >= self.chunks:
            self.state = TransferState.SENDING
            return [Verify()]
        self.state = TransferState.SENDING
        self._asked_at = self.have
        return [SendFrame(Accept(self.id, self.have))]

    def probe(self) -> list[Action]:
        """A channel opened: tell the sender what we hold, so a sender that ended
        the transfer while we were away says so (a live one offers again anyway)."""
        if self.state.final:
            return []
        return [SendFrame(Ack(self.id, self.have))]

    def channel_closed(self) -> None:
        """The channel closed: wait for the sender's next offer."""
        if self.state is TransferState.SENDING:
            self.state = TransferState.PAUSED
            self.reason = None

    def cancel(self, reason: CancelReason = "cancelled") -> list[Action]:
        """We cancel (the user, or a refusal such as too little disk space)."""
        if self.state.final:
            return []
        self._end(reason)
        return [SendFrame(Cancel(self.id, reason)), Discard()]

    def receive(self, frame: FileFrame) -> list[Action]:
        """A frame from the sender about this transfer (not the offer: see :meth:`offered`)."""
        if self.state.final:
            return []
        match frame:
            case Chunk(index=index, data=data):
                return self._chunk(index, data)
            case Cancel(reason=reason):
                self._end(reason)
                return [Discard()]
        return []

    def verified(self, matches: bool) -> list[Action]:
        """The stored file's SHA-256 was computed: it ``matches`` the offer or not."""
        if self.state is not TransferState.SENDING or self.have < self.chunks:
            return []
        if matches:
            self.state = TransferState.RECEIVED
            return [SendFrame(Done(self.id))]
        return self.cancel("hash_mismatch")

    def _chunk(self, index: int, data: bytes) -> list[Action]:
        if self.state is not TransferState.SENDING or index < self.have:
            return []  # a duplicate after a rewind, or one in flight before a pause
        if index > self.have:
            if self._asked_at == self.have:
                return []
            self._asked_at = self.have
            return [SendFrame(Accept(self.id, self.have))]
        if index >= self.chunks or len(data) != chunk_length(self.offer.size, index):
            return self.cancel("failed")
        self.have += 1
        actions: list[Action] = [StoreChunk(index, data), SendFrame(Ack(self.id, self.have))]
        if self.have == self.chunks:
            actions.append(Verify())
        return actions
