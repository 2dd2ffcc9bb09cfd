"""What a :class:`~kith.signaling.connection.ServerConnection` is asked to send, and how a
connection ended: plain values shared by the link and the client."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, TypeAlias

__all__ = [
    "BATCH_ITEM_OVERHEAD",
    "BATCH_OVERHEAD",
    "Ending",
    "MailboxBatch",
    "MailboxOp",
    "Op",
    "PublishOp",
    "RequestOp",
    "RetractOp",
    "SubscribeOp",
    "batch_cost",
    "batch_item_size",
    "batch_size",
    "chunked",
    "split_batch",
]

BATCH_OVERHEAD: Final = 96
"""Bytes of a ``publish_batch`` frame around its items (type, ref, brackets)."""
BATCH_ITEM_OVERHEAD: Final = 44 + 43 + 43
"""Bytes of one item besides its payload: keys, quotes, the topic and the token."""
SUBSCRIBE_CHUNK: Final = 256
"""Topics (or tokens) per ``subscribe``/``unsubscribe``/``retract`` frame
(12 KiB; 24 KiB for a ``retract``, which carries both: far below the size limit)."""


@dataclass(frozen=True)
class SubscribeOp:
    """Subscribe (``add``) or unsubscribe (not ``add``) ``topics``."""

    topics: tuple[bytes, ...]
    add: bool = True


@dataclass(frozen=True)
class PublishOp:
    """Send the latest value desired for the publish token ``token`` (read when sent)."""

    token: bytes = field(repr=False)


@dataclass(frozen=True)
class RetractOp:
    """Retract the topics that the publish tokens ``tokens`` open."""

    tokens: tuple[bytes, ...] = field(repr=False)


@dataclass(frozen=True)
class RequestOp:
    """A relay or intro whose reply resolves ``future``."""

    kind: str
    topic: bytes
    payload: bytes = field(repr=False)
    future: asyncio.Future[None] = field(repr=False, compare=False)


@dataclass(frozen=True)
class MailboxBatch:
    """Items fetched from one mailbox: ``(id, sealed item)`` pairs, oldest
    first; ``more`` when others wait (acknowledge these, then fetch again)."""

    items: tuple[tuple[int, bytes], ...] = field(repr=False)
    more: bool


@dataclass(frozen=True)
class MailboxOp:
    """A mailbox request whose reply resolves ``future``.

    ``kind`` is ``deposit`` (``key`` is the mailbox topic, ``item`` the sealed
    item), ``fetch`` or ``ack`` (``key`` is the mailbox token, a secret;
    ``ids`` the items to delete). A fetch resolves to a :class:`MailboxBatch`,
    the others to None.
    """

    kind: str
    key: bytes = field(repr=False)
    future: asyncio.Future[MailboxBatch | None] = field(repr=False, compare=False)
    item: bytes = field(default=b"", repr=False)
    ids: tuple[int, ...] = ()


Op: TypeAlias = SubscribeOp | PublishOp | RetractOp | RequestOp | MailboxOp


@dataclass(frozen=True)
class Ending:
    """How a connection ended, and whether trying again makes sense."""

    reason: str
    reconnect: bool
    authenticated: bool
    detail: str = ""


def batch_item_size(payload: bytes) -> int:
    """Bytes one ``{topic, payload}`` item takes in a ``publish_batch`` frame."""
    return BATCH_ITEM_OVERHEAD + (len(payload) * 4 + 2) // 3


def split_batch(
    items: Sequence[tuple[bytes, bytes]], max_items: int, max_frame_bytes: int
) -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]:
    """The longest head of ``items`` that fits one frame, and the rest (pure).

    The head holds at least one item (a single oversized one is the server's
    to refuse), at most ``max_items``, and, after the first, only items that
    keep the frame within ``max_frame_bytes``.
    """
    budget = max_frame_bytes - BATCH_OVERHEAD
    taken: list[tuple[bytes, bytes]] = []
    for item in items:
        size = batch_item_size(item[1])
        if taken and (len(taken) >= max_items or size > budget):
            break
        taken.append(item)
        budget -= size
    return taken, list(items[len(taken) :])


def chunked(op: Op) -> list[Op]:
    """``op`` as sent: topic and token lists go out ``SUBSCRIBE_CHUNK`` per frame."""
    if isinstance(op, RetractOp) and len(op.tokens) > SUBSCRIBE_CHUNK:
        return [
            RetractOp(op.tokens[start : start + SUBSCRIBE_CHUNK])
            for start in range(0, len(op.tokens), SUBSCRIBE_CHUNK)
        ]
    if not isinstance(op, SubscribeOp) or len(op.topics) <= SUBSCRIBE_CHUNK:
        return [op]
    return [
        dataclasses.replace(op, topics=op.topics[start : start + SUBSCRIBE_CHUNK])
        for start in range(0, len(op.topics), SUBSCRIBE_CHUNK)
    ]


def batch_size(max_batch: int, items_per_token: int, bucket_capacity: float) -> int:
    """Items per ``publish_batch``: the server's limit, and no batch may cost
    more tokens than the bucket holds."""
    return min(max_batch, int(bucket_capacity) * items_per_token)


def batch_cost(items: int, items_per_token: int) -> int:
    """Tokens a batch of ``items`` costs: one per started block."""
    return max(1, -(-items // items_per_token))
