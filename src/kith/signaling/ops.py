"""What a :class:`~kith.signaling.link.Link` is asked to send, and how a
connection ended: plain values shared by the link and the client."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, TypeAlias

__all__ = [
    "BATCH_ITEM_OVERHEAD",
    "BATCH_OVERHEAD",
    "Ending",
    "Op",
    "PublishOp",
    "RequestOp",
    "RetractOp",
    "SubscribeOp",
    "batch_item_size",
    "split_batch",
]

BATCH_OVERHEAD: Final = 96
"""Bytes of a ``publish_batch`` frame around its items (type, ref, brackets)."""
BATCH_ITEM_OVERHEAD: Final = 32 + 43
"""Bytes of one item besides its payload: keys, quotes and the topic."""


@dataclass(frozen=True)
class SubscribeOp:
    """Subscribe (``add``) or unsubscribe (not ``add``) ``topics``."""

    topics: tuple[bytes, ...]
    add: bool = True


@dataclass(frozen=True)
class PublishOp:
    """Send the latest desired value of ``topic`` (read when sent)."""

    topic: bytes


@dataclass(frozen=True)
class RetractOp:
    """Retract ``topics``."""

    topics: tuple[bytes, ...]


@dataclass(frozen=True)
class RequestOp:
    """A relay or intro whose reply resolves ``future``."""

    kind: str
    topic: bytes
    payload: bytes = field(repr=False)
    future: asyncio.Future[None] = field(repr=False, compare=False)


Op: TypeAlias = SubscribeOp | PublishOp | RetractOp | RequestOp


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
