"""Bundles: several session messages sealed as one encrypted frame (pure).

A burst of small frames (a group commit's messages, the receipts answering
them) costs one encryption, one data-channel message and one packet instead
of one each. The plaintext of a ``BUNDLE`` frame is a sequence of entries,
each a message the receiver handles exactly as if it had come alone::

    bundle = entry || entry || ...        (at least two entries)
    entry  = length (u32, big-endian) || message (length bytes, never empty)

:func:`plan_bundles` decides what goes together: consecutive messages, in
order, up to :data:`BUNDLE_LIMIT` bytes; a message larger than
:data:`BUNDLE_ENTRY_LIMIT` (a file chunk) travels alone. See ``docs/p2p.md``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Final

from kith.p2p.errors import MalformedFrame

__all__ = [
    "BUNDLE_ENTRY_LIMIT",
    "BUNDLE_LIMIT",
    "pack_bundle",
    "plan_bundles",
    "unpack_bundle",
]

_LENGTH: Final = struct.Struct(">I")
BUNDLE_LIMIT: Final = 64 * 1024
"""Largest bundle plaintext we make (well under one frame's payload)."""
BUNDLE_ENTRY_LIMIT: Final = 4 * 1024
"""Largest message put in a bundle; larger ones gain nothing from it."""


def plan_bundles(messages: Sequence[bytes]) -> list[list[bytes]]:
    """Split ``messages`` into runs, in order: each run of two or more is one
    bundle, a run of one is sent as a plain message."""
    runs: list[list[bytes]] = []
    run: list[bytes] = []
    size = 0
    for message in messages:
        cost = _LENGTH.size + len(message)
        alone = len(message) > BUNDLE_ENTRY_LIMIT
        if run and (alone or size + cost > BUNDLE_LIMIT):
            runs.append(run)
            run, size = [], 0
        if alone:
            runs.append([message])
            continue
        run.append(message)
        size += cost
    if run:
        runs.append(run)
    return runs


def pack_bundle(messages: Sequence[bytes]) -> bytes:
    """Encode ``messages`` (two or more, none empty) as one bundle plaintext.

    Raises:
        ValueError: fewer than two messages, or an empty one.
    """
    if len(messages) < 2:
        raise ValueError("a bundle carries at least two messages")
    if not all(messages):
        raise ValueError("a bundled message is never empty")
    return b"".join(_LENGTH.pack(len(m)) + m for m in messages)


def unpack_bundle(data: bytes) -> list[bytes]:
    """Decode a bundle plaintext into its messages, in order.

    Raises:
        MalformedFrame: a truncated entry, an empty one, trailing bytes, or
            fewer than two entries.
    """
    messages: list[bytes] = []
    view = memoryview(data)
    at = 0
    while at < len(view):
        if len(view) - at < _LENGTH.size:
            raise MalformedFrame("a bundle ends inside an entry's length")
        (length,) = _LENGTH.unpack_from(view, at)
        at += _LENGTH.size
        if length == 0:
            raise MalformedFrame("a bundled message is never empty")
        if length > len(view) - at:
            raise MalformedFrame("a bundled message is longer than the bundle")
        messages.append(bytes(view[at : at + length]))
        at += length
    if len(messages) < 2:
        raise MalformedFrame("a bundle carries at least two messages")
    return messages
